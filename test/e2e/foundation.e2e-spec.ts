import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { pollUntil } from '@nco/events/testing';
import { Subjects } from '@nco/events';
import { TestSystem } from '../support/system';

const run = promisify(execFile);
const CLI = 'dist/apps/cli/src/main.js';

/** The foundation slice: check-in → report → reconcile → liveness → operator view, end to end. */
describe('foundation slice: six services and simulated DCAs', () => {
  const sys = new TestSystem({ reportIntervalMs: 300 });

  beforeAll(() => sys.start());
  afterAll(() => sys.stop());

  it('registers every DCA, keeps it online while it reports, and turns it offline when it stops', async () => {
    const fleet = await sys.fleet(5, { middleboxes: { wireshark: 1 } });
    const ids = fleet.devices.map((d) => d.hostId!);
    expect(new Set(ids).size).toBe(6);

    const online = await pollUntil(async () => {
      const rows = await sys.query<{ host_id: number; online: boolean; last_report_at: Date | null }>(
        `SELECT host_id, online, last_report_at FROM hosts ORDER BY host_id`,
      );
      return rows.length === 6 && rows.every((r) => r.online && r.last_report_at) ? rows : null;
    }, 'all six hosts online with a report');
    expect(online.map((r) => r.host_id).sort()).toEqual([...ids].sort());
    expect(await sys.query(`SELECT type FROM middleboxes`)).toEqual([{ type: 'wireshark' }]);

    const listed = await sys.bus.request(Subjects.cmd.hostsList, undefined, { limit: 100 });
    expect(listed.hosts.filter((h) => h.online)).toHaveLength(6);

    await fleet.stopDevice(ids[0]);
    await pollUntil(async () => {
      const [row] = await sys.query<{ online: boolean }>(`SELECT online FROM hosts WHERE host_id = $1`, [ids[0]]);
      return row.online === false;
    }, 'a stopped DCA to turn offline', 10_000);
    const others = await sys.query<{ online: boolean }>(`SELECT online FROM hosts WHERE host_id <> $1`, [ids[0]]);
    expect(others.every((r) => r.online)).toBe(true);

    await fleet.startDevice(ids[0]);
    await pollUntil(async () => (await sys.query<{ online: boolean }>(`SELECT online FROM hosts WHERE host_id = $1`, [ids[0]]))[0].online, 'the DCA back online');
  });

  it('reconciles a module the NCO never built into an unknown-module finding', async () => {
    const fleet = await sys.fleet(1, { macPrefix: '02:aa:00' });
    const device = fleet.devices[0];
    device.driver.forceInstall(4242);
    await fleet.reportNow(device.hostId!);
    const [row] = await pollUntil(
      () => sys.query(`SELECT host_id, module_id FROM unknown_modules WHERE host_id = $1`, [device.hostId]).then((r) => (r.length ? r : null)),
      'the unknown module in the CIB',
    );
    expect(row).toEqual({ host_id: device.hostId, module_id: 4242 });
  });

  it('shows the hosts to an operator through `nco hosts --json` (NATS only)', async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
    const { stdout } = await run(process.execPath, [CLI, 'hosts', '--json'], { env: { ...process.env, NATS_URL: sys.nats.url } });
    const hosts = JSON.parse(stdout) as Array<{ hostId: number; mac: string; release: string; online: boolean; lastReportAt: string | null }>;
    expect(hosts.length).toBeGreaterThanOrEqual(7);
    for (const h of hosts) {
      expect(h).toEqual(expect.objectContaining({ hostId: expect.any(Number), mac: expect.any(String), release: expect.any(String), online: expect.any(Boolean) }));
    }
    expect(hosts.filter((h) => h.online && h.lastReportAt)).not.toHaveLength(0);
  });

  it('survives a NATS restart: services and DCAs reconnect and reports resume without a manual step', async () => {
    const fleet = await sys.fleet(3, { macPrefix: '02:bb:00' });
    const ids = fleet.devices.map((d) => d.hostId!);
    const lastReport = async () =>
      new Map((await sys.query<{ host_id: number; last_report_at: Date }>(`SELECT host_id, last_report_at FROM hosts WHERE host_id = ANY($1)`, [ids])).map((r) => [r.host_id, r.last_report_at?.getTime() ?? 0]));
    await pollUntil(async () => [...(await lastReport()).values()].every((t) => t > 0), 'first reports');

    await sys.nats.restart();
    const restartedAt = Date.now();

    await pollUntil(async () => [...(await lastReport()).values()].every((t) => t > restartedAt), 'reports after the restart', 30_000, 200);
    const listed = await pollUntil(
      () => sys.bus.request(Subjects.cmd.hostsList, undefined, { hostIds: ids, limit: 10 }).catch(() => null),
      'the orchestrator answering again',
      15_000,
    );
    expect(listed.hosts.every((h) => h.online)).toBe(true);
  });
});
