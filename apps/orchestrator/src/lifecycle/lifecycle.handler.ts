import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { LifecycleRepository, OperationRepository } from '@nco/cib';
import { NcoError, operationSummary, QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';
import { DeployService } from './deploy.service';
import { RotateService } from './rotate.service';

/** Orchestrator operator commands: deploy, rotate, label, and the host / operation views. */
@Injectable()
export class LifecycleHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly deployer: DeployService,
    private readonly rotations: RotateService,
    private readonly lifecycle: LifecycleRepository,
    private readonly operations: OperationRepository,
  ) {}

  onApplicationBootstrap(): void {
    const bus = this.nats.bus;
    const queue = QueueGroups.orchestrator;
    bus.serve(Subjects.cmd.deploy, ({ env }) => this.deployer.deploy(env.body, env.operationId), { queue });
    bus.serve(Subjects.cmd.rotate, ({ env }) => this.rotations.rotate(env.body), { queue });
    bus.serve(
      Subjects.cmd.hostsLabel,
      async ({ env }) => {
        const updated = await this.lifecycle.label(env.body.hostIds, env.body.set, env.body.remove);
        if (updated === 0) throw new NcoError('not_found', 'none of those hosts exists');
        return { updated };
      },
      { queue },
    );
    bus.serve(
      Subjects.cmd.hostModules,
      async ({ env }) => {
        const modules = await this.lifecycle.hostModules(env.body.hostId);
        if (!modules) throw new NcoError('not_found', `no host ${env.body.hostId}`);
        return modules;
      },
      { queue },
    );
    bus.serve(
      Subjects.cmd.operationsList,
      async ({ env }) => ({ operations: (await this.operations.recent(env.body.limit)).map(operationSummary) }),
      { queue },
    );
  }
}
