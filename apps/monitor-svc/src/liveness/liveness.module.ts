import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { LivenessSweep } from './liveness-sweep';

@Module({ imports: [EventsModule], providers: [LivenessSweep] })
export class LivenessModule {}
