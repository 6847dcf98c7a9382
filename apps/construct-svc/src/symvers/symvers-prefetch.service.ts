import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { QueueGroups, Subjects } from '@nco/events';
import { MicroBatcher, NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { ConstructConfig } from '../settings';
import { SymversService } from './symvers.service';

/**
 * Collects a host's Module.symvers when it registers, changes kernel or comes back online, so
 * a deploy does not wait for devices to send them (it only did when a host was unknown). Hosts
 * arriving together are handled as one batch: one CIB query, then only the missing ones asked.
 */
@Injectable()
export class SymversPrefetchService implements OnApplicationBootstrap {
  private readonly log: Logger;
  private readonly batcher: MicroBatcher<number, void>;

  constructor(
    private readonly symvers: SymversService,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: ConstructConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'symvers-prefetch' });
    this.batcher = new MicroBatcher<number, void>({
      maxSize: 2_000,
      // The device subscribes to its commands right after its check-in is answered: wait a bit.
      maxWaitMs: this.config.SYMVERS_PREFETCH_DELAY_MS,
      handle: async (hostIds) => {
        const { unavailable } = await this.symvers.ensure([...new Set(hostIds)]);
        if (unavailable.length) this.log.debug({ hosts: unavailable.length }, 'symvers not collected now; the next deploy asks again');
        return hostIds.map(() => undefined);
      },
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.SYMVERS_PREFETCH) return;
    // A queue group of its own: one NATS queue group delivers each event to one subscription, and
    // build catch-up (same process) must see every host event too.
    const queue = `${QueueGroups.construct}-symvers`;
    const prefetch = ({ env }: { env: { body: { hostId: number; middleboxType?: string | null } } }) => {
      if (env.body.middleboxType) return;
      this.batcher.add(env.body.hostId).catch((e) => this.log.warn({ hostId: env.body.hostId, err: (e as Error).message }, 'symvers prefetch failed'));
    };
    this.nats.bus.subscribe(Subjects.evt.hostRegistered, prefetch, { queue });
    this.nats.bus.subscribe(Subjects.evt.hostChanged, prefetch, { queue });
    this.nats.bus.subscribe(Subjects.evt.hostOnline, prefetch, { queue });
  }
}
