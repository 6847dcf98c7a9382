import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { ReconcileService } from './reconcile.service';
import { ReportConsumer } from './report-consumer';

@Module({ imports: [EventsModule], providers: [ReconcileService, ReportConsumer] })
export class ReportsModule {}
