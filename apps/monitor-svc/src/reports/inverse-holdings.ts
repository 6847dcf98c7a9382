import { Inject, Injectable } from '@nestjs/common';
import { INVERSE_KINDS, MiddleboxRepository } from '@nco/cib';
import { Subjects } from '@nco/events';
import { NatsService, ROOT_LOGGER } from '@nco/runtime';
import { Logger } from 'pino';
import { Report } from './report-batch';

/**
 * The middlebox part of a report batch: what each middlebox says it holds in its inverse folder
 * is reconciled against the CIB (MiddleboxRepository.applyHoldings), after the batch's own
 * transaction. When something needs work — a file missing or still present, work given up that
 * a check-in retries — deploy-svc is told (`pending.work`); it queues and carries the rest.
 * A failure is logged: the middlebox's next report tries again.
 */
@Injectable()
export class InverseHoldings {
  private readonly log: Logger;

  constructor(
    private readonly middleboxes: MiddleboxRepository,
    private readonly nats: NatsService,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'inverse-holdings' });
  }

  /** `fresh`: hosts whose report in this batch is the newest applied (older ones say nothing). */
  async apply(latest: Report[], fresh: Set<number>): Promise<void> {
    const holdings = latest
      .filter((r) => r.body.inverse && fresh.has(r.hostId))
      .map((r) => ({ hostId: r.hostId, issuedAt: r.issuedAt, checkin: r.body.reason === 'checkin', files: r.body.inverse! }));
    if (!holdings.length) return;
    try {
      const r = await this.middleboxes.applyHoldings(holdings);
      if (r.needWork || r.confirmed) this.log.info({ middleboxes: holdings.length, ...r }, 'middlebox holdings reconciled');
      if (r.needWork || r.woke) this.nats.bus.publish(Subjects.evt.pendingWork, undefined, { kinds: [...INVERSE_KINDS], hostIds: holdings.map((h) => h.hostId) });
    } catch (e) {
      this.log.warn({ middleboxes: holdings.length, err: (e as Error).message }, 'middlebox holdings not reconciled; their next reports try again');
    }
  }
}
