import { Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { MonitorHarness } from '../testing/monitor-harness';

jest.setTimeout(60_000);

const fast = { REPORT_INTERVAL_MS: '100', OFFLINE_AFTER_MS: '1000', LIVENESS_SWEEP_MS: '100' };

/** Liveness through the running monitor-svc: silent hosts go offline, a report brings them back. */
describe('liveness (monitor-svc, real Postgres and NATS)', () => {
  let h: MonitorHarness;
  let next = 0;
  const newHosts = (n: number) => Array.from({ length: n }, () => h.base + ++next);
  const online = async (hostId: number) => (await h.sql(`SELECT online FROM hosts WHERE host_id = $1`, [hostId]))[0].online as boolean;

  beforeAll(async () => {
    h = await MonitorHarness.create();
  });
  afterAll(() => h.close());
  afterEach(() => h.stopServices());

  it('turns a silent host offline and a new report turns it online again, with events on NCO_EVENTS', async () => {
    const since = new Date(Date.now() - 1000);
    const [silent, never] = newHosts(2);
    await h.seedHosts([silent], { online: true, lastSeenAgoMs: 60_000 });
    await h.seedHosts([never], { online: false, lastSeenAgoMs: null });
    const svc = await h.start(fast);

    await pollUntil(async () => !(await online(silent)), 'the silent host offline');
    await h.applied(await h.report(silent));
    expect(await online(silent)).toBe(true);
    await pollUntil(() => h.liveness(silent, Subjects.evt.hostOnline.subject()).length === 1, 'host.online event');

    const stored = await h.storedEvents('nco.evt.host.>', since);
    const mine = stored.filter((e) => e.env.body.hostId === silent).slice(0, 2); // it may have gone silent again since
    expect(mine.map((e) => [e.subject, e.env.body.online])).toEqual([
      ['nco.evt.host.offline', false],
      ['nco.evt.host.online', true],
    ]);
    expect(mine[0].env).toMatchObject({ type: 'host.offline', hostId: silent, body: { hostId: silent, lastSeenAt: expect.any(String) } });
    expect(stored.some((e) => e.env.body.hostId === never)).toBe(false); // already offline: no event

    // The reporting host stays online while it keeps reporting within OFFLINE_AFTER_MS.
    for (let i = 0; i < 4; i++) {
      await h.applied(await h.report(silent));
      await new Promise((r) => setTimeout(r, 150));
    }
    expect(await online(silent)).toBe(true);

    const metrics = await (await fetch(`http://127.0.0.1:${svc.port}/metrics`)).text();
    expect(metrics).toMatch(/nco_monitor_hosts\{state="online",service="monitor-svc"\} 1/);
    expect(metrics).toMatch(/nco_monitor_hosts\{state="offline",service="monitor-svc"\} 1/);
  });

  it('announces each host going offline once when several replicas sweep', async () => {
    const hosts = newHosts(300);
    await Promise.all([h.start(fast), h.start(fast), h.start(fast)]);
    await h.seedHosts(hosts, { online: true, lastSeenAgoMs: 60_000 });

    await pollUntil(async () => (await h.sql(`SELECT count(*)::int AS n FROM hosts WHERE host_id = ANY($1::int[]) AND online`, [hosts]))[0].n === 0, 'all offline');
    await pollUntil(() => hosts.every((id) => h.liveness(id, Subjects.evt.hostOffline.subject()).length >= 1), 'one event per host');
    await new Promise((r) => setTimeout(r, 300)); // later sweeps must not announce them again
    expect(hosts.filter((id) => h.liveness(id, Subjects.evt.hostOffline.subject()).length !== 1)).toEqual([]);
  });
});
