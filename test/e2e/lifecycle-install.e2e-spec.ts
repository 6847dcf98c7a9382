import { Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { buildAndInstall, countOf, deploymentsOf, lifecycleSystem, RELEASE, settled } from './lifecycle-support';

/**
 * Installs through the running services: construct-svc builds and writes the desired state,
 * deploy-svc re-stamps and delivers, the device loads the module and reports, monitor-svc
 * confirms. Devices report only after a change here (the interval is an hour), so a test can
 * plant a module on a device without a periodic report giving it away.
 */
describe('lifecycle: install', () => {
  const sys = lifecycleSystem(11, { reportIntervalMs: 3_600_000 });
  let fleet: Fleet;
  let hostIds: number[];

  beforeAll(async () => {
    await sys.start();
    fleet = await sys.fleet(6, { release: RELEASE, macPrefix: '02:d1:00' });
    hostIds = fleet.devices.map((d) => d.hostId!);
  });
  afterAll(() => sys.stop());

  /** Holds a host's installs back: deploy-svc only sends to hosts the CIB has online. */
  const setOnline = (hostId: number, online: boolean) => sys.query(`UPDATE hosts SET online = $2 WHERE host_id = $1`, [hostId, online]);
  const backOnline = async (hostId: number) => {
    await setOnline(hostId, true);
    sys.bus.publish(Subjects.evt.hostOnline, undefined, { hostId, online: true, lastSeenAt: new Date().toISOString() }, { hostId });
  };
  const pendingInstall = (operationId: string) =>
    pollUntil(async () => (await sys.query<{ host_id: number; module_id: number; state: string }>(
      `SELECT host_id, module_id, state FROM pending_operations WHERE operation_id = $1 AND kind = 'install'`, [operationId]))[0], 'the pending install', 60_000);

  it('builds and installs a host-unique module on each host, confirmed in the CIB by the report', async () => {
    const [a, b] = hostIds;
    const t0 = Date.now();
    const operationId = await buildAndInstall(sys, [a, b]);
    const op = await settled(sys, operationId, 120_000);
    expect(op).toMatchObject({ kind: 'deploy', status: 'succeeded', targetCount: 2, succeeded: 2, failed: 0 });
    const deps = await deploymentsOf(sys, operationId);
    expect(deps.map((d) => [d.host_id, d.state])).toEqual([[a, 'installed'], [b, 'installed']]);
    expect(await countOf(sys, `SELECT count(*)::int AS n FROM pending_operations WHERE operation_id = $1 AND kind = 'install' AND state = 'done'`, [operationId])).toBe(2);
    // The device holds exactly the bytes the build recorded (re-stamped at delivery, never stored per host).
    const built = await sys.query<{ host_id: number; module_id: number; artifact_sha256: string; req_install: boolean }>(
      `SELECT host_id, module_id, artifact_sha256, req_install FROM built_modules WHERE operation_id = $1 ORDER BY host_id`, [operationId]);
    for (const bm of built) {
      const m = fleet.device(bm.host_id)!.driver.inspect(bm.module_id);
      expect(m).toMatchObject({ id: bm.module_id, sha256: bm.artifact_sha256, deprecated: false });
      expect(bm.req_install).toBe(false);
    }
    process.stdout.write(`build + install of 2 hosts confirmed in ${Date.now() - t0} ms\n`);
  });

  it('fails an install whose re-stamped module does not match its recorded sha256, without sending it', async () => {
    const h = hostIds[2];
    await setOnline(h, false);
    const operationId = await buildAndInstall(sys, [h]);
    const { module_id: moduleId } = await pendingInstall(operationId);
    await sys.query(`UPDATE built_modules SET artifact_sha256 = repeat('0', 64) WHERE host_id = $1 AND module_id = $2`, [h, moduleId]);
    const installs = jest.spyOn(fleet.device(h)!.driver, 'install');
    await backOnline(h);
    const op = await settled(sys, operationId);
    expect(op).toMatchObject({ status: 'failed', succeeded: 0, failed: 1 });
    const [dep] = await deploymentsOf(sys, operationId);
    expect(dep).toMatchObject({ state: 'failed', failure_reason: expect.stringMatching(/^artifact mismatch: .* the CIB records 0{64}$/) });
    expect(installs).not.toHaveBeenCalled();
    expect(fleet.device(h)!.driver.inspect(moduleId)).toBeUndefined();
    expect(await sys.query(`SELECT state, last_error FROM pending_operations WHERE operation_id = $1 AND kind = 'install'`, [operationId]))
      .toEqual([{ state: 'failed', last_error: dep.failure_reason }]);
    expect(await sys.query(`SELECT req_install FROM built_modules WHERE host_id = $1 AND module_id = $2`, [h, moduleId])).toEqual([{ req_install: false }]);
  });

  it("records the device's refusal (its module id is taken on the device) as the deployment's failure", async () => {
    const h = hostIds[3];
    await setOnline(h, false);
    const operationId = await buildAndInstall(sys, [h]);
    const { module_id: moduleId } = await pendingInstall(operationId);
    // Someone loaded a module under that id by hand; no report has told the NCO.
    fleet.device(h)!.driver.forceInstall(moduleId);
    await backOnline(h);
    const op = await settled(sys, operationId);
    expect(op).toMatchObject({ status: 'failed', failed: 1 });
    const [dep] = await deploymentsOf(sys, operationId);
    expect(dep.state).toBe('failed');
    expect(dep.failure_reason).toMatch(new RegExp(`module ${moduleId} is already loaded`));
    expect(fleet.device(h)!.driver.inspect(moduleId)).toMatchObject({ forced: true });
  });

  it('counts an operation per host: one refused, one installed', async () => {
    const [ok, refused] = [hostIds[4], hostIds[5]];
    await setOnline(refused, false);
    const operationId = await buildAndInstall(sys, [ok, refused]);
    const rows = await pollUntil(async () => {
      const r = await sys.query<{ host_id: number; module_id: number }>(`SELECT host_id, module_id FROM pending_operations WHERE operation_id = $1 AND kind = 'install'`, [operationId]);
      return r.length === 2 ? r : null;
    }, 'both pending installs');
    fleet.device(refused)!.driver.forceInstall(rows.find((r) => r.host_id === refused)!.module_id);
    await backOnline(refused);
    expect(await settled(sys, operationId)).toMatchObject({ status: 'partially_failed', targetCount: 2, succeeded: 1, failed: 1 });
    expect((await deploymentsOf(sys, operationId)).map((d) => [d.host_id, d.state])).toEqual([[ok, 'installed'], [refused, 'failed']].sort((x, y) => Number(x[0]) - Number(y[0])));
  });
});
