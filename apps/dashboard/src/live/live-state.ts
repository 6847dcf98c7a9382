import { LiveItem, ReportedModule } from './live-item';

/** Counts per time bucket, for the charts. */
export interface SeriesPoint {
  /** Bucket start, ms since the epoch. */
  t: number;
  reports: number;
  /** Installs confirmed by a device's report (reconcile.finding kind=installed): deployments over time. */
  installed: number;
  errors: number;
}

export interface LastReport {
  at: string;
  summary: string;
  modules: ReportedModule[];
  revoked: number;
}

export interface LiveStateOptions {
  bucketMs: number;
  buckets: number;
  recent: number;
  errors: number;
}

/** A bounded list that keeps the newest `max` entries. */
class Ring<T> {
  private items: T[] = [];
  constructor(private readonly max: number) {}
  push(x: T): void {
    this.items.push(x);
    if (this.items.length > this.max * 2) this.items = this.items.slice(-this.max);
  }
  list(): T[] {
    return this.items.slice(-this.max);
  }
}

/**
 * What the dashboard remembers from the streams, in memory and bounded: counts per time bucket
 * for the charts, the newest messages, the newest errors, each host's last report, and the
 * operations it has seen progress for. Everything else comes from the CIB through the operator
 * queries when a page opens.
 */
export class LiveState {
  private readonly series = new Map<number, SeriesPoint>();
  private readonly recent: Ring<LiveItem>;
  private readonly errors: Ring<LiveItem>;
  private readonly lastReports = new Map<number, LastReport>();
  private readonly operations = new Map<string, Record<string, unknown>>();

  constructor(private readonly o: LiveStateOptions) {
    this.recent = new Ring(o.recent);
    this.errors = new Ring(o.errors);
  }

  /** Takes one message; `storedAt` (the stream's timestamp, ms) places it in the charts. */
  add(item: LiveItem, storedAt: number): void {
    const point = this.bucket(storedAt);
    if (item.kind === 'report') {
      point.reports++;
      if (item.hostId !== undefined) {
        this.lastReports.set(item.hostId, { at: item.at, summary: item.summary, modules: item.modules ?? [], revoked: item.revoked ?? 0 });
      }
    } else {
      this.recent.push(item);
      const body = item.body as Record<string, unknown> | undefined;
      if (item.kind === 'reconcile.finding' && body?.kind === 'installed') point.installed++;
      if (item.kind === 'operation.progress' && body && typeof body.id === 'string') {
        this.operations.set(body.id, body);
        if (this.operations.size > 500) this.operations.delete(this.operations.keys().next().value!);
      }
    }
    if (item.error) {
      point.errors++;
      this.errors.push(item);
    }
  }

  lastReport(hostId: number): LastReport | undefined {
    return this.lastReports.get(hostId);
  }

  /** The newest events (reports are counted, not kept here: one per host is in lastReport). */
  recentItems(hostId?: number): LiveItem[] {
    const all = this.recent.list();
    return hostId === undefined ? all : all.filter((i) => i.hostId === hostId);
  }

  recentErrors(hostId?: number): LiveItem[] {
    const all = this.errors.list();
    return hostId === undefined ? all : all.filter((i) => i.hostId === hostId);
  }

  /** Operations by id as their last progress event described them. */
  knownOperations(): Array<Record<string, unknown>> {
    return [...this.operations.values()];
  }

  /** The last `o.buckets` buckets up to `now`, oldest first, empty ones as zeros. */
  seriesUntil(now: number, count = this.o.buckets): SeriesPoint[] {
    const last = this.start(now);
    const out: SeriesPoint[] = [];
    for (let t = last - (count - 1) * this.o.bucketMs; t <= last; t += this.o.bucketMs) {
      out.push(this.series.get(t) ?? { t, reports: 0, installed: 0, errors: 0 });
    }
    return out;
  }

  private start(ms: number): number {
    return Math.floor(ms / this.o.bucketMs) * this.o.bucketMs;
  }

  private bucket(ms: number): SeriesPoint {
    const t = this.start(ms);
    let p = this.series.get(t);
    if (!p) {
      p = { t, reports: 0, installed: 0, errors: 0 };
      this.series.set(t, p);
      const oldest = t - this.o.buckets * this.o.bucketMs;
      for (const k of this.series.keys()) if (k <= oldest) this.series.delete(k);
    }
    return p;
  }
}
