import { Module } from '@nestjs/common';
import { EventsModule } from '../events/events.module';
import { InverseHoldings } from './inverse-holdings';
import { ReconcileService } from './reconcile.service';
import { ReportConsumer } from './report-consumer';
import { ReportIdentity } from './report-identity';
import { DeviceRepository } from '@nco/cib';

@Module({ imports: [EventsModule], providers: [ReconcileService, ReportConsumer, InverseHoldings, DeviceRepository, ReportIdentity] })
export class ReportsModule {}
