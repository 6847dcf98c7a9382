import { Module } from '@nestjs/common';
import { CheckinHandler } from './checkin.handler';
import { CheckinService } from './checkin.service';
import { DeviceEnrollment } from './device-enrollment';
import { DeviceNatsAccess } from './device-nats-access';
import { DevicesHandler } from './devices.handler';
import { DeviceRepository } from '@nco/cib';
import { HostsQueryHandler } from './hosts-query.handler';

@Module({ providers: [CheckinService, CheckinHandler, HostsQueryHandler, DeviceRepository, DeviceEnrollment, DeviceNatsAccess, DevicesHandler] })
export class HostsModule {}
