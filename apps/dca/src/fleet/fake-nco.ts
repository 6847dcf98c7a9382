import { CheckinBody, Envelope, NatsBus, ReportBody, Subjects } from '@nco/events';
import { Subscription } from 'nats';

export interface FakeNcoOptions {
  /** Host ids are handed out from here up; pick a random base to stay clear of other runs. */
  firstHostId?: number;
  reportIntervalMs?: number;
  /** Also receive reports for the host ids it assigned. */
  watchReports?: boolean;
}

export interface HostReports {
  count: number;
  last?: Envelope<ReportBody>;
  /** Reports whose seq was not above the previous one. */
  outOfOrder: number;
}

/**
 * A stand-in for the orchestrator's check-in (same MAC, same host id) and the monitor's report
 * intake, for tests and measurements of DCAs without the NCO services.
 */
export class FakeNco {
  readonly hostIds = new Map<string, number>();
  readonly checkins = new Map<string, number>();
  readonly lastCheckin = new Map<string, CheckinBody>();
  readonly reports = new Map<number, HostReports>();
  totalReports = 0;
  private nextHostId: number;
  private readonly subs: Subscription[] = [];

  constructor(
    private readonly bus: NatsBus,
    private readonly o: FakeNcoOptions = {},
  ) {
    this.nextHostId = o.firstHostId ?? 1;
  }

  async start(): Promise<void> {
    this.subs.push(
      this.bus.serve(Subjects.device.checkin, ({ env }) => {
        const mac = env.body.mac;
        const known = this.hostIds.get(mac);
        const hostId = known ?? this.nextHostId++;
        this.hostIds.set(mac, hostId);
        this.checkins.set(mac, (this.checkins.get(mac) ?? 0) + 1);
        this.lastCheckin.set(mac, env.body);
        if (!known) this.reports.set(hostId, { count: 0, outOfOrder: 0 });
        return { hostId, isNew: !known, reportIntervalMs: this.o.reportIntervalMs ?? 5_000 };
      }),
    );
    if (this.o.watchReports) {
      this.subs.push(
        this.bus.subscribe(Subjects.device.report, ({ env }) => {
          const r = env.hostId === undefined ? undefined : this.reports.get(env.hostId);
          if (!r) return; // someone else's device
          if (r.last && env.body.seq <= r.last.body.seq) r.outOfOrder++;
          r.count++;
          r.last = env;
          this.totalReports++;
        }),
      );
    }
    await this.bus.nc.flush();
  }

  stop(): void {
    for (const s of this.subs.splice(0)) s.unsubscribe();
  }
}
