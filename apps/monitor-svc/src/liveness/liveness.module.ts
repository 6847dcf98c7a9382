import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { HostStatsRepository } from './host-stats.repository';
import { LivenessSweep } from './liveness-sweep';

@Module({ imports: [EventsModule], providers: [HostStatsRepository, LivenessSweep] })
export class LivenessModule {}
