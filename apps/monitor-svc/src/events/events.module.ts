import { Module } from '@nestjs/common';
import { MonitorEvents } from './monitor-events';

@Module({ providers: [MonitorEvents], exports: [MonitorEvents] })
export class EventsModule {}
