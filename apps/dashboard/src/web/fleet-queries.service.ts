import { Inject, Injectable } from '@nestjs/common';
import { NcoError, Subjects } from '@nco/events';
import { NatsService, SERVICE_CONFIG } from '@nco/runtime';
import { StreamRelay } from '../live/stream-relay.service';
import { DashboardConfig } from '../settings';

const ERROR_TEXT_MAX = 2000;

/** A section of a page: its data, or why it is unavailable (a service down shows as such, the rest still renders). */
type Section<T> = { ok: true; data: T } | { ok: false; error: string };

async function section<T>(load: () => Promise<T>): Promise<Section<T>> {
  try {
    return { ok: true, data: await load() };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  }
}

/**
 * What a page needs when it opens, from the operator queries over NATS (the same ones `nco`
 * uses, served by the orchestrator and construct-svc from the CIB) plus what the relay has seen.
 * Asked once per page load or host page, never on a timer.
 */
@Injectable()
export class FleetQueries {
  constructor(
    private readonly nats: NatsService,
    private readonly relay: StreamRelay,
    @Inject(SERVICE_CONFIG) private readonly config: DashboardConfig,
  ) {}

  async overview() {
    const bus = this.nats.bus;
    const [hosts, online, offline, operations, builds] = await Promise.all([
      section(() => bus.request(Subjects.cmd.hostsList, undefined, { limit: this.config.DASHBOARD_HOSTS_LIMIT })),
      section(() => bus.request(Subjects.cmd.hostsList, undefined, { online: true, limit: 1 })),
      section(() => bus.request(Subjects.cmd.hostsList, undefined, { online: false, limit: 1 })),
      section(() => bus.request(Subjects.cmd.operationsList, undefined, { limit: 50 })),
      section(async () => {
        const r = await bus.request(Subjects.cmd.buildsList, undefined, { limit: 20 });
        return { errors: r.errors.map((e) => ({ ...e, error: e.error.slice(0, ERROR_TEXT_MAX) })), queue: r.queue, failedJobs: r.failedJobs };
      }),
    ]);
    const live = this.relay.state;
    return {
      at: new Date().toISOString(),
      hosts: hosts.ok ? { ok: true, data: { hosts: hosts.data.hosts, total: hosts.data.total } } : hosts,
      counts: online.ok && offline.ok ? { ok: true, data: { online: online.data.total, offline: offline.data.total } } : online.ok ? offline : online,
      operations,
      builds,
      series: live.seriesUntil(Date.now()),
      recent: live.recentItems().slice(-200),
      errors: live.recentErrors(),
      bucketMs: this.config.DASHBOARD_BUCKET_MS,
    };
  }

  async host(hostId: number) {
    const bus = this.nats.bus;
    const [summary, modules] = await Promise.all([
      bus.request(Subjects.cmd.hostsList, undefined, { hostIds: [hostId], limit: 1 }),
      section(() => bus.request(Subjects.cmd.hostModules, undefined, { hostId })),
    ]);
    const host = summary.hosts[0];
    if (!host) throw new NcoError('not_found', `no host ${hostId}`);
    return {
      host,
      modules,
      lastReport: this.relay.state.lastReport(hostId) ?? null,
      recent: this.relay.state.recentItems(hostId).slice(-100),
      errors: this.relay.state.recentErrors(hostId),
    };
  }
}
