import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { InverseHoldings } from './inverse-holdings';
import { ReconcileService } from './reconcile.service';
import { ReportConsumer } from './report-consumer';

@Module({ imports: [EventsModule], providers: [ReconcileService, ReportConsumer, InverseHoldings] })
export class ReportsModule {}
