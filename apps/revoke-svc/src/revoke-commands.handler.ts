import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';
import { RevokeCommandsService } from './revoke-commands.service';
import { RevokeDispatchService } from './revoke-dispatch.service';

/** Operator commands of revoke-svc: `nco deprecate` and `nco revoke`, answered at once with the operation id. */
@Injectable()
export class RevokeCommandsHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly commands: RevokeCommandsService,
    private readonly dispatch: RevokeDispatchService,
  ) {}

  onApplicationBootstrap(): void {
    const queue = QueueGroups.revoke;
    this.nats.bus.serve(Subjects.cmd.deprecate, async ({ env }) => this.kicked(await this.commands.deprecate(env.body)), { queue });
    this.nats.bus.serve(Subjects.cmd.revoke, async ({ env }) => this.kicked(await this.commands.revoke(env.body)), { queue });
  }

  private kicked<T>(accepted: T): T {
    this.dispatch.kick();
    return accepted;
  }
}
