import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';
import { DeployDispatchService } from '../dispatch/deploy-dispatch.service';
import { DeployCommandsService } from './deploy-commands.service';

/** Operator commands of deploy-svc: `nco toggle` and `nco priority`, answered at once with the operation id. */
@Injectable()
export class DeployCommandsHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly commands: DeployCommandsService,
    private readonly dispatch: DeployDispatchService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = QueueGroups.deploy;
    this.nats.bus.serve(Subjects.cmd.toggle, async ({ env }) => this.kicked(await this.commands.toggle(env.body)), { queue });
    this.nats.bus.serve(Subjects.cmd.priority, async ({ env }) => this.kicked(await this.commands.priority(env.body)), { queue });
  }

  private kicked<T>(accepted: T): T {
    this.dispatch.kick();
    return accepted;
  }
}
