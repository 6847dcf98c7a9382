import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { BuildRepository } from '@nco/cib';
import { QueueGroups, Subjects } from '@nco/events';
import { NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { BuildQueueRepository } from '../queue/build-queue.repository';
import { ConstructConfig } from '../settings';

/**
 * Builds that wait for a device (offline, symvers unknown) resume when the device checks in
 * again, and a periodic sweep re-queues any due pending build whose trigger was lost.
 */
@Injectable()
export class BuildCatchupService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(
    private readonly builds: BuildRepository,
    private readonly queue: BuildQueueRepository,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: ConstructConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'build-catchup' });
  }

  onApplicationBootstrap(): void {
    const queue = QueueGroups.construct;
    const resume = async ({ env }: { env: { body: { hostId: number } } }) => this.requeue([env.body.hostId]);
    this.nats.bus.subscribe(Subjects.evt.hostOnline, resume, { queue });
    this.nats.bus.subscribe(Subjects.evt.hostRegistered, resume, { queue });
    this.nats.bus.subscribe(Subjects.evt.hostChanged, resume, { queue });
    this.timer = setInterval(() => void this.requeue().catch((e) => this.log.warn({ err: e.message }, 'build sweep failed')), this.config.BUILD_SWEEP_MS);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async requeue(hostIds?: number[]): Promise<void> {
    const ops = await this.builds.operationsWithPendingBuilds(hostIds);
    for (const op of ops) await this.queue.enqueue(op);
    if (ops.length) this.log.debug({ operations: ops.length, hostIds }, 're-queued waiting builds');
  }
}
