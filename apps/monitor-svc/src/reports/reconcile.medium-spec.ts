import { encode, Subjects } from '@nco/events';
import { MonitorHarness } from '../testing/monitor-harness';
import { ReportConsumer } from './report-consumer';

const mod = (ID: number, o: { Count?: number; Activated?: number; ts?: number } = {}) => ({
  ID,
  Activated: o.Activated ?? 1,
  Count: o.Count ?? 0,
  ts: o.ts ?? 1000,
});

/** The brief's "Report" rules, one test each, through the running monitor-svc (real Postgres and NATS). */
jest.setTimeout(60_000);

describe('report reconciliation (monitor-svc, real Postgres and NATS)', () => {
  let h: MonitorHarness;
  let next = 0;
  /** A fresh host id of this file's block. */
  const newHost = () => h.base + ++next;
  const deployment = async (hostId: number, moduleId: number) =>
    (await h.sql(`SELECT * FROM deployments WHERE host_id = $1 AND module_id = $2`, [hostId, moduleId]))[0];

  beforeAll(async () => {
    h = await MonitorHarness.create();
    await h.start({ LIVENESS_SWEEP_MS: '3600000' }); // no offline sweep: these tests compare host rows
  });
  afterAll(() => h.close());

  it('reported and known: updates socket count, active mode and timestamps, and marks the host seen', async () => {
    const host = newHost();
    await h.seedHosts([host], { online: true, lastSeenAgoMs: 60_000 });
    await h.seedDeployment(host, 10, 'installed');
    const sent = await h.report(host, { Installed: [mod(10, { Count: 7, Activated: 0, ts: 1234.5 })] });
    await h.applied(sent);

    const d = await deployment(host, 10);
    expect(d).toMatchObject({ state: 'installed', socket_count: 7, active_mode: 0, kernel_ts: 1234.5, deprecated: false, host_error_at: null });
    expect(d.reported_at).toBeInstanceOf(Date);
    const [row] = await h.sql(`SELECT online, last_seen_at > now() - interval '10 seconds' AS seen, last_report_at IS NOT NULL AS reported FROM hosts WHERE host_id = $1`, [host]);
    expect(row).toEqual({ online: true, seen: true, reported: true });

    await h.handled(sent.streamSeq);
    expect(h.findings(host)).toEqual([]);
  });

  it('reported and deprecated: the deployment is marked deprecated', async () => {
    const host = newHost();
    await h.seedHosts([host]);
    await h.seedDeployment(host, 10, 'installed');
    await h.applied(await h.report(host, { Deprecated: [mod(10, { Count: 2 })] }));
    expect(await deployment(host, 10)).toMatchObject({ deprecated: true, socket_count: 2 });
  });

  it.each(['pending', 'delivered'])('reported while its deployment is %s: becomes installed and stops being pending', async (state) => {
    const host = newHost();
    await h.seedHosts([host]);
    const built = await h.seedBuilt(host, 20, true);
    await h.seedDeployment(host, 20, state, built);
    await h.seedPendingInstall(host, 20);
    await h.applied(await h.report(host, { Installed: [mod(20, { Count: 1 })] }));

    expect(await deployment(host, 20)).toMatchObject({ state: 'installed', socket_count: 1 });
    expect((await deployment(host, 20)).installed_at).toBeInstanceOf(Date);
    expect(await h.sql(`SELECT req_install FROM built_modules WHERE id = $1`, [built])).toEqual([{ req_install: false }]);
    expect(await h.sql(`SELECT state FROM pending_operations WHERE host_id = $1`, [host])).toEqual([{ state: 'done' }]);
    await h.finding(host, 'installed', 20);
  });

  it('reported while built and awaiting install with no deployment row: adopted as installed', async () => {
    const host = newHost();
    await h.seedHosts([host]);
    const built = await h.seedBuilt(host, 21, true);
    await h.seedPendingInstall(host, 21);
    await h.applied(await h.report(host, { Installed: [mod(21, { Count: 4 })] }));

    expect(await deployment(host, 21)).toMatchObject({ state: 'installed', built_module_id: built, module_name: 'mod21', socket_count: 4 });
    expect(await h.sql(`SELECT req_install FROM built_modules WHERE id = $1`, [built])).toEqual([{ req_install: false }]);
    expect(await h.sql(`SELECT state FROM pending_operations WHERE host_id = $1`, [host])).toEqual([{ state: 'done' }]);
    await h.finding(host, 'installed', 21);
    expect(await h.sql(`SELECT * FROM unknown_modules WHERE host_id = $1`, [host])).toEqual([]);
  });

  it('reported but never built: flagged once as an unknown module', async () => {
    const host = newHost();
    await h.seedHosts([host]);
    await h.applied(await h.report(host, { Installed: [mod(99, { Count: 3 })] }));
    expect(await h.sql(`SELECT module_id, socket_count FROM unknown_modules WHERE host_id = $1`, [host])).toEqual([{ module_id: 99, socket_count: 3 }]);
    await h.finding(host, 'unknown_module', 99);

    const again = await h.report(host, { Installed: [mod(99, { Count: 5 })] });
    await h.applied(again);
    await h.handled(again.streamSeq);
    expect(await h.sql(`SELECT socket_count, last_seen_at >= first_seen_at AS later FROM unknown_modules WHERE host_id = $1`, [host])).toEqual([
      { socket_count: 5, later: true },
    ]);
    expect(h.findings(host, 'unknown_module')).toHaveLength(1);
    expect(await h.sql(`SELECT * FROM deployments WHERE host_id = $1`, [host])).toEqual([]);
  });

  it('known but not reported: host error set and flagged once, cleared when reported again', async () => {
    const host = newHost();
    await h.seedHosts([host]);
    await h.seedDeployment(host, 30, 'installed');
    await h.seedDeployment(host, 31, 'verified');
    await h.seedDeployment(host, 32, 'pending');

    await h.applied(await h.report(host, { Installed: [mod(31)] }));
    expect((await deployment(host, 30)).host_error_at).toBeInstanceOf(Date);
    expect((await deployment(host, 31)).host_error_at).toBeNull();
    expect((await deployment(host, 32)).host_error_at).toBeNull(); // not installed yet: nothing to miss
    await h.finding(host, 'missing_module', 30);

    const stillMissing = await h.report(host, { Installed: [mod(31)] });
    await h.applied(stillMissing);
    await h.handled(stillMissing.streamSeq);
    expect(h.findings(host, 'missing_module')).toEqual([{ moduleId: 30, kind: 'missing_module', moduleName: 'mod30' }]);

    await h.applied(await h.report(host, { Installed: [mod(30), mod(31)] }));
    expect((await deployment(host, 30)).host_error_at).toBeNull();
    await h.finding(host, 'recovered', 30);
  });

  it('revoked: deployment deleted, revocation recorded once although the core repeats it', async () => {
    const host = newHost();
    await h.seedHosts([host]);
    const built = await h.seedBuilt(host, 40, false);
    await h.seedDeployment(host, 40, 'installed', built);
    await h.seedDeployment(host, 41, 'installed');

    await h.applied(await h.report(host, { Installed: [mod(41)], Revoked: [{ ID: 40, ts: 5000 }] }));
    expect(await deployment(host, 40)).toBeUndefined();
    const revocations = () => h.sql(`SELECT module_id, module_name, source, kernel_ts FROM revocations WHERE host_id = $1`, [host]);
    expect(await revocations()).toEqual([{ module_id: 40, module_name: 'mod40', source: 'report', kernel_ts: 5000 }]);
    await h.finding(host, 'revoked', 40);
    expect(h.findings(host, 'missing_module')).toEqual([]);

    // The NCO deploys module id 40 again; the core still lists the old revocation.
    await h.sql(`DELETE FROM built_modules WHERE host_id = $1`, [host]);
    await h.seedDeployment(host, 40, 'pending', await h.seedBuilt(host, 40, true));
    const repeat = await h.report(host, { Installed: [mod(41)], Revoked: [{ ID: 40, ts: 5000 }] });
    await h.applied(repeat);
    await h.handled(repeat.streamSeq);
    expect(await revocations()).toHaveLength(1);
    expect(h.findings(host, 'revoked')).toHaveLength(1);
    expect(await deployment(host, 40)).toMatchObject({ state: 'pending' });
  });

  it("revoked after an operator's revoke: the operator's revocation gets the kernel's timestamp, no second row", async () => {
    const host = newHost();
    await h.seedHosts([host]);
    await h.seedDeployment(host, 42, 'installed', await h.seedBuilt(host, 42, false));
    await h.sql(`INSERT INTO revocations (host_id, module_id, module_name, source, reason) VALUES ($1, 42, 'mod42', 'operator', 'replaced')`, [host]);

    await h.applied(await h.report(host, { Installed: [], Revoked: [{ ID: 42, ts: 6000 }] }));
    expect(await h.sql(`SELECT module_id, source, reason, kernel_ts FROM revocations WHERE host_id = $1`, [host])).toEqual([
      { module_id: 42, source: 'operator', reason: 'replaced', kernel_ts: 6000 },
    ]);
    expect(await deployment(host, 42)).toBeUndefined();
  });

  it('a report older than one already applied only marks the host seen', async () => {
    const host = newHost();
    await h.seedHosts([host]);
    await h.seedDeployment(host, 50, 'installed');
    const now = Date.now();
    await h.applied(await h.report(host, { Installed: [mod(50, { Count: 9 })] }, { issuedAt: new Date(now) }));
    const old = await h.report(host, { Installed: [] }, { issuedAt: new Date(now - 60_000) });
    await h.handled(old.streamSeq);
    expect(await deployment(host, 50)).toMatchObject({ socket_count: 9, host_error_at: null });
  });

  describe('malformed reports', () => {
    const snapshot = () =>
      h.sql(
        `SELECT (SELECT json_agg(h ORDER BY host_id) FROM hosts h) AS hosts, (SELECT json_agg(d ORDER BY host_id, module_id) FROM deployments d) AS deployments,
                (SELECT count(*) FROM unknown_modules) AS unknown, (SELECT count(*) FROM revocations) AS revocations`,
      );

    it.each([
      ['not JSON', () => new TextEncoder().encode('{"v":1,'), 'not_json', /not valid JSON/],
      ['wrong types', (e: any) => encode({ ...e, body: { ...e.body, seq: 'one' } }), 'invalid_message', /body\.seq/],
      ['a missing field', (e: any) => encode({ ...e, body: { seq: 1, reason: 'interval' } }), 'invalid_message', /body\.kernel/],
      ['oversized', (e: any) => encode({ ...e, pad: 'x'.repeat(600 * 1024) }), 'oversized', /limit is 524288/],
      ['a host id other than its subject', (e: any) => encode({ ...e, hostId: e.hostId + 1 }), 'host_mismatch', /envelope carries hostId/],
    ])('refuses %s with a logged reason and leaves the CIB unchanged', async (_what, make, reason, detail) => {
      const host = newHost();
      await h.seedHosts([host], { lastSeenAgoMs: 60_000 });
      await h.seedDeployment(host, 60, 'installed');
      const before = await snapshot();
      const warn = jest.spyOn(h.services[0].app.get(ReportConsumer)['log'], 'warn');
      try {
        const env = h.envelope(host, { Installed: [mod(99)] });
        const seq = await h.publishRaw(Subjects.device.report.subject({ hostId: host }), make(env));
        await h.handled(seq);
        expect(warn).toHaveBeenCalledWith(
          expect.objectContaining({ hostId: host, subject: `nco.dev.${host}.report`, reason, detail: expect.stringMatching(detail) }),
          expect.stringContaining('refused report'),
        );
      } finally {
        warn.mockRestore();
      }
      expect(await snapshot()).toEqual(before);
      expect(h.findings(host)).toEqual([]);
    });
  });
});
