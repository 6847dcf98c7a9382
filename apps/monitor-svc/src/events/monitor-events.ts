import { Inject, Injectable } from '@nestjs/common';
import type { FindingRow, LivenessChange, OperationEntity } from '@nco/cib';
import { operationSummary, Subjects } from '@nco/events';
import { countSettledOperations, NatsService, ROOT_LOGGER } from '@nco/runtime';
import { Logger } from 'pino';
import { monitorMetrics } from '../metrics';

/** Publishes at most this many events before waiting for the stream's acks. */
const IN_FLIGHT = 1000;

export interface Announcement {
  findings?: FindingRow[];
  online?: number[];
  offline?: LivenessChange[];
  /** Operations whose progress the batch moved (installs confirmed). */
  operations?: OperationEntity[];
}

/**
 * What the monitor tells the rest of the system, after the CIB change is committed: findings
 * and liveness changes, stored in NCO_EVENTS (the stream acks each one, the envelope id
 * de-duplicates a retry). A failure to store an event is logged and counted; the CIB stays the
 * truth and the next report or sweep reconciles against it.
 */
@Injectable()
export class MonitorEvents {
  private readonly log: Logger;
  private readonly metrics = monitorMetrics();

  constructor(
    private readonly nats: NatsService,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'events' });
  }

  async announce({ findings = [], online = [], offline = [], operations = [] }: Announcement): Promise<void> {
    const bus = this.nats.bus;
    const at = new Date().toISOString();
    const sends: Array<() => Promise<void>> = [];
    countSettledOperations(operations);
    for (const f of findings) {
      const body = { hostId: f.hostId, moduleId: f.moduleId, kind: f.kind, moduleName: f.moduleName, at };
      sends.push(() => bus.publishDurable(Subjects.evt.finding, undefined, body, { hostId: f.hostId }));
    }
    for (const hostId of online) {
      sends.push(() => bus.publishDurable(Subjects.evt.hostOnline, undefined, { hostId, online: true, lastSeenAt: at }, { hostId }));
    }
    for (const op of operations) {
      sends.push(() => bus.publishDurable(Subjects.evt.operationProgress, undefined, operationSummary(op), { operationId: op.id }));
    }
    for (const h of offline) {
      const body = { hostId: h.hostId, online: false, lastSeenAt: h.lastSeenAt?.toISOString() ?? null };
      sends.push(() => bus.publishDurable(Subjects.evt.hostOffline, undefined, body, { hostId: h.hostId }));
    }
    let failed = 0;
    let firstError: unknown;
    for (let i = 0; i < sends.length; i += IN_FLIGHT) {
      const results = await Promise.allSettled(sends.slice(i, i + IN_FLIGHT).map((send) => send()));
      for (const r of results) {
        if (r.status === 'rejected') {
          failed++;
          firstError ??= r.reason;
        }
      }
    }
    if (failed) {
      this.metrics.eventFailures.inc(failed);
      this.log.error({ failed, total: sends.length, err: String((firstError as Error)?.message ?? firstError) }, 'could not store events in NCO_EVENTS');
    }
  }
}
