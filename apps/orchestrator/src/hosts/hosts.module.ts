import { Module } from '@nestjs/common';
import { CheckinHandler } from './checkin.handler';
import { CheckinService } from './checkin.service';
import { HostsQueryHandler } from './hosts-query.handler';

@Module({ providers: [CheckinService, CheckinHandler, HostsQueryHandler] })
export class HostsModule {}
