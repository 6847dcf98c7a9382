import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { OperationRepository } from '@nco/cib';
import { NcoError, operationSummary, QueueGroups, Subjects } from '@nco/events';
import { NatsService } from '@nco/runtime';

/** `nco status <operation>`: an operation's per-host progress counts, from the CIB. */
@Injectable()
export class OperationsQueryHandler implements OnApplicationBootstrap {
  constructor(
    private readonly nats: NatsService,
    private readonly operations: OperationRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.nats.bus.serve(
      Subjects.cmd.operationGet,
      async ({ env }) => {
        const op = await this.operations.get(env.body.operationId);
        if (!op) throw new NcoError('not_found', `no operation ${env.body.operationId}`);
        const failures = op.failed > 0 ? await this.operations.failures(op.id) : [];
        return { ...operationSummary(op), failures: failures.map((f) => ({ ...f, reason: f.reason.slice(0, 2000), at: f.at.toISOString() })) };
      },
      { queue: QueueGroups.orchestrator },
    );
  }
}
