import { Injectable } from '@nestjs/common';
import { DeployBody, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';

/**
 * Deploy = build a host-unique module for every target host and install it. construct-svc
 * validates and writes the desired state (operation, pending builds); installs follow from the
 * builds (deploy-svc) and are confirmed by the devices' reports (monitor-svc).
 */
@Injectable()
export class DeployService {
  constructor(private readonly nats: NatsService) {}

  deploy(body: DeployBody, operationId?: string) {
    return this.nats.bus.request(Subjects.cmd.build, undefined, { ...body, install: true }, { operationId });
  }
}
