import { Inject, Injectable, Optional } from '@nestjs/common';
import { FindingRow, LivenessRow, ReportRepository } from '@nco/cib';
import { ROOT_LOGGER } from '@nco/runtime';
import { Logger } from 'pino';
import { MonitorEvents } from '../events/monitor-events';
import { monitorMetrics } from '../metrics';
import { latestPerHost, livenessOf, moduleLines, Report } from './report-batch';
import { InverseHoldings } from './inverse-holdings';

const UNKNOWN_HOST_LOG_WINDOW_MS = 10 * 60_000;

export interface ReconcileOutcome {
  /** Hosts whose report was applied (the newest report seen for them). */
  applied: number;
  /** Hosts whose report was older than one already applied: liveness only. */
  stale: number;
  /** Reports replaced by a newer one of the same host in the batch. */
  superseded: number;
  unknownHosts: number[];
  findings: FindingRow[];
  cameOnline: number[];
}

/**
 * Reconciles a batch of reports against the CIB, the brief's "Report" rules in order:
 * liveness → revoked → reported (known, pending install, unknown) → missing. One transaction
 * per batch, so a batch is applied whole or not at all; events go out after the commit.
 */
@Injectable()
export class ReconcileService {
  private readonly log: Logger;
  private readonly metrics = monitorMetrics();
  /** When each unknown host was last logged: a stray fleet logs one line per host per window, not per report. */
  private readonly unknownLogged = new Map<number, number>();

  constructor(
    private readonly reports: ReportRepository,
    private readonly events: MonitorEvents,
    @Inject(ROOT_LOGGER) root: Logger,
    @Optional() private readonly inverse?: InverseHoldings,
  ) {
    this.log = root.child({ component: 'reconcile' });
  }

  async reconcile(batch: Report[]): Promise<ReconcileOutcome> {
    const { latest, superseded } = latestPerHost(batch);

    const { live, findings, operations, fresh } = await this.reports.transaction(async (rules) => {
      const live = await rules.touchLiveness(livenessOf(latest));
      const fresh = new Set(live.filter((l) => l.fresh).map((l) => l.hostId));
      const lines = moduleLines(latest.filter((r) => fresh.has(r.hostId)));
      const revoked = await rules.applyRevoked(lines.revoked);
      const reported = await rules.applyReported(lines.reported);
      const missing = await rules.flagMissing(lines.hostIds, lines.reported);
      const operations = await rules.progressInstalls(reported.filter((f) => f.kind === 'installed'));
      return { live, findings: [...revoked, ...reported, ...missing], operations, fresh };
    });
    await this.inverse?.apply(latest, fresh);

    const outcome = this.summarise(latest, superseded, live, findings);
    this.record(outcome, batch.length);
    await this.events.announce({ findings, online: outcome.cameOnline, operations });
    return outcome;
  }

  private summarise(latest: Report[], superseded: number, live: LivenessRow[], findings: FindingRow[]): ReconcileOutcome {
    const known = new Set(live.map((l) => l.hostId));
    const applied = live.filter((l) => l.fresh).length;
    return {
      applied,
      stale: live.length - applied,
      superseded,
      unknownHosts: latest.filter((r) => !known.has(r.hostId)).map((r) => r.hostId),
      findings,
      cameOnline: live.filter((l) => !l.wasOnline).map((l) => l.hostId),
    };
  }

  private record(o: ReconcileOutcome, reports: number): void {
    const m = this.metrics;
    m.reports.inc({ outcome: 'applied' }, o.applied);
    m.reports.inc({ outcome: 'stale' }, o.stale);
    m.reports.inc({ outcome: 'superseded' }, o.superseded);
    m.reports.inc({ outcome: 'unknown_host' }, o.unknownHosts.length);
    m.liveness.inc({ to: 'online' }, o.cameOnline.length);
    this.warnUnknown(o.unknownHosts);
    for (const f of o.findings) {
      m.findings.inc({ kind: f.kind });
      this.log.info({ hostId: f.hostId, moduleId: f.moduleId, kind: f.kind, moduleName: f.moduleName }, `finding: ${f.kind}`);
    }
    for (const hostId of o.cameOnline) this.log.info({ hostId }, 'host online');
    this.log.debug(
      {
        reports,
        applied: o.applied,
        stale: o.stale,
        superseded: o.superseded,
        unknownHosts: o.unknownHosts.length,
        findings: o.findings.length,
        cameOnline: o.cameOnline.length,
      },
      'batch reconciled',
    );
  }

  private warnUnknown(hostIds: number[]): void {
    const now = Date.now();
    if (this.unknownLogged.size > 10_000) this.unknownLogged.clear();
    for (const hostId of hostIds) {
      if (now - (this.unknownLogged.get(hostId) ?? -Infinity) < UNKNOWN_HOST_LOG_WINDOW_MS) continue;
      this.unknownLogged.set(hostId, now);
      this.log.warn({ hostId }, 'report from a host the CIB does not know; ignored (logged once per 10 minutes per host)');
    }
  }
}
