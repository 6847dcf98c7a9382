import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';
import { CheckinService } from './checkin.service';
import { DeviceEnrollment } from './device-enrollment';

/** NATS entry of check-ins; replicas share `nco.checkin` through the orchestrator queue group. */
@Injectable()
export class CheckinHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly checkins: CheckinService,
    private readonly enrollment: DeviceEnrollment,
  ) {}

  onApplicationBootstrap(): void {
    this.nats.bus.serve(
      Subjects.device.checkin,
      ({ env, subject }) => {
        this.enrollment.checkSignature(env, subject);
        return this.checkins.checkin(env.body);
      },
      { queue: QueueGroups.orchestrator },
    );
  }
}
