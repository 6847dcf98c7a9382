import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { LivenessRepository } from './liveness.repository';
import { LivenessSweep } from './liveness-sweep';

@Module({ imports: [EventsModule], providers: [LivenessRepository, LivenessSweep] })
export class LivenessModule {}
