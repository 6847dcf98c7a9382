import { Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { TestSystem } from '../support/system';
import { buildAndInstall, countOf, deployment, deploymentsOf, lifecycleSystem, RELEASE, settled } from './lifecycle-support';

/**
 * Operator lifecycle commands through the running services: toggle and priority (deploy-svc),
 * deprecate and revoke (revoke-svc). Each is answered at once with an operation id, carried to
 * the devices, recorded in the CIB, and visible in the device's next report.
 */
describe('lifecycle: toggle, priority, deprecate, revoke', () => {
  const sys: TestSystem = lifecycleSystem(12, { reportIntervalMs: 300 });
  let fleet: Fleet;
  let hosts: number[];
  /** dns-tag's module id on each host. */
  const dnsTag = new Map<number, number>();

  beforeAll(async () => {
    await sys.start();
    fleet = await sys.fleet(8, { release: RELEASE, macPrefix: '02:d2:00' });
    hosts = fleet.devices.map((d) => d.hostId!);
    const operationId = await buildAndInstall(sys, hosts);
    expect(await settled(sys, operationId, 120_000)).toMatchObject({ status: 'succeeded', succeeded: hosts.length });
    for (const d of await deploymentsOf(sys, operationId)) dnsTag.set(d.host_id, d.module_id);
  });
  afterAll(() => sys.stop());

  const operationCount = () => countOf(sys, `SELECT count(*)::int AS n FROM operations`);
  /** Resolves once monitor-svc applied a report of the host taken after `since`. */
  const reportedAfter = (hostId: number, since: number) =>
    pollUntil(async () => {
      const [h] = await sys.query<{ last_report_at: Date }>(`SELECT last_report_at FROM hosts WHERE host_id = $1`, [hostId]);
      return h.last_report_at.getTime() > since + 50;
    }, `a report of host ${hostId}`);

  it('toggles a module off by name on some hosts: CIB, device and its next report agree', async () => {
    const targets = hosts.slice(0, 2);
    const reply = await sys.bus.request(Subjects.cmd.toggle, undefined, { target: { hostIds: targets }, module: 'dns-tag', mode: 0 });
    expect(reply.targetCount).toBe(2);
    const op = await settled(sys, reply.operationId);
    expect(op).toMatchObject({ kind: 'toggle', status: 'succeeded', succeeded: 2, failed: 0 });
    const done = Date.now();
    for (const h of targets) {
      expect(fleet.device(h)!.driver.inspect(dnsTag.get(h)!)!.activated).toBe(0);
      const report = await fleet.device(h)!.driver.report();
      expect(report.Installed.find((m) => m.ID === dnsTag.get(h))).toMatchObject({ Activated: 0 });
      await reportedAfter(h, done);
      expect(await deployment(sys, h, dnsTag.get(h)!)).toMatchObject({ active_mode: 0, state: 'installed' });
    }
    // The other hosts were not touched.
    expect((await deployment(sys, hosts[2], dnsTag.get(hosts[2])!))!.active_mode).toBe(1);
  });

  it('sets a priority by module id, and refuses a priority another module of the host holds', async () => {
    const h = hosts[2];
    const id = dnsTag.get(h)!;
    const reply = await sys.bus.request(Subjects.cmd.priority, undefined, { target: { hostIds: [h] }, moduleId: id, priority: 4321 });
    expect(await settled(sys, reply.operationId)).toMatchObject({ kind: 'priority', status: 'succeeded', succeeded: 1 });
    expect(fleet.device(h)!.driver.inspect(id)!.priority).toBe(4321);
    expect(await deployment(sys, h, id)).toMatchObject({ priority: 4321 });
    expect(await sys.query(`SELECT priority FROM built_modules WHERE host_id = $1 AND module_id = $2`, [h, id])).toEqual([{ priority: 4321 }]);

    // A second module on two hosts; asking dns-tag for its priority collides there.
    const other = await buildAndInstall(sys, [h, hosts[3]], 'port-match', { priority: 5000 });
    expect(await settled(sys, other, 120_000)).toMatchObject({ status: 'succeeded' });
    const before = await operationCount();
    await expect(sys.bus.request(Subjects.cmd.priority, undefined, { target: { hostIds: [h, hosts[3], hosts[4]] }, module: 'dns-tag', priority: 5000 }))
      .rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(new RegExp(`priority 5000 is already used on 2 host\\(s\\): host ${h} \\(module \\d+\\), host ${hosts[3]}`)) });
    expect(await operationCount()).toBe(before);
    expect(fleet.device(hosts[4])!.driver.inspect(dnsTag.get(hosts[4])!)!.priority).not.toBe(5000);
  });

  it('deprecates a module: still loaded, listed as Deprecated, recorded', async () => {
    const h = hosts[4];
    const id = dnsTag.get(h)!;
    const reply = await sys.bus.request(Subjects.cmd.deprecate, undefined, { target: { hostIds: [h] }, module: 'dns-tag' });
    expect(await settled(sys, reply.operationId)).toMatchObject({ kind: 'deprecate', status: 'succeeded', succeeded: 1 });
    const done = Date.now();
    const report = await fleet.device(h)!.driver.report();
    expect(report.Deprecated.map((m) => m.ID)).toContain(id);
    expect(report.Installed.map((m) => m.ID)).not.toContain(id);
    await reportedAfter(h, done);
    expect(await deployment(sys, h, id)).toMatchObject({ deprecated: true, state: 'installed' });
    expect(await sys.query(`SELECT deprecated_at IS NOT NULL AS at FROM deployments WHERE host_id = $1 AND module_id = $2`, [h, id])).toEqual([{ at: true }]);
  });

  it('revokes a module with a reason: unloaded, gone from the CIB, the revocation recorded', async () => {
    const h = hosts[5];
    const id = dnsTag.get(h)!;
    const reply = await sys.bus.request(Subjects.cmd.revoke, undefined, { target: { hostIds: [h] }, moduleId: id, reason: 'key suspected leaked' });
    expect(await settled(sys, reply.operationId)).toMatchObject({ kind: 'revoke', status: 'succeeded', succeeded: 1 });
    expect(fleet.device(h)!.driver.inspect(id)).toBeUndefined();
    const done = Date.now();
    const report = await fleet.device(h)!.driver.report();
    expect([...report.Installed, ...report.Deprecated].map((m) => m.ID)).not.toContain(id);
    await reportedAfter(h, done);
    expect(await deployment(sys, h, id)).toBeUndefined();
    const revs = await sys.query<{ source: string; reason: string; operation_id: string }>(`SELECT source, reason, operation_id FROM revocations WHERE host_id = $1 AND module_id = $2`, [h, id]);
    expect(revs).toContainEqual({ source: 'operator', reason: 'key suspected leaked', operation_id: reply.operationId });
    expect(await sys.query(`SELECT req_install FROM built_modules WHERE host_id = $1 AND module_id = $2`, [h, id])).toEqual([{ req_install: false }]);
    // Nothing left to revoke: a second revoke is refused and writes nothing.
    const before = await operationCount();
    await expect(sys.bus.request(Subjects.cmd.revoke, undefined, { target: { hostIds: [h] }, moduleId: id }))
      .rejects.toMatchObject({ code: 'invalid_request', message: `no deployment of module id ${id} on the target` });
    expect(await operationCount()).toBe(before);
  });

  it('waits for an offline device, does not queue the same command twice, and delivers once when it returns', async () => {
    const h = hosts[6];
    const id = dnsTag.get(h)!;
    await fleet.stopDevice(h);
    await pollUntil(async () => !(await sys.query<{ online: boolean }>(`SELECT online FROM hosts WHERE host_id = $1`, [h]))[0].online, 'the host to be offline');
    const toggles = jest.spyOn(fleet.device(h)!.driver, 'toggle');

    const first = await sys.bus.request(Subjects.cmd.toggle, undefined, { target: { hostIds: [h] }, module: 'dns-tag', mode: 0 });
    const before = await operationCount();
    await expect(sys.bus.request(Subjects.cmd.toggle, undefined, { target: { hostIds: [h] }, module: 'dns-tag', mode: 0 }))
      .rejects.toMatchObject({ code: 'conflict', message: expect.stringMatching(/already pending/) });
    expect(await operationCount()).toBe(before);

    // Several sweeps pass; nothing is sent to a device the CIB has offline.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await sys.query(`SELECT state, attempts FROM pending_operations WHERE operation_id = $1`, [first.operationId])).toEqual([{ state: 'pending', attempts: 0 }]);
    expect(toggles).not.toHaveBeenCalled();

    await fleet.startDevice(h);
    expect(await settled(sys, first.operationId)).toMatchObject({ status: 'succeeded', succeeded: 1 });
    expect(toggles).toHaveBeenCalledTimes(1);
    expect(fleet.device(h)!.driver.inspect(id)!.activated).toBe(0);
    await pollUntil(async () => (await deployment(sys, h, id))!.active_mode === 0, 'the CIB to show the module off');
  });

  it("refuses commands it cannot carry out, with the reason, and records the device's refusal", async () => {
    const ask = (body: Record<string, unknown>) => sys.bus.request(Subjects.cmd.toggle, undefined, { mode: 1, ...body } as never);
    await expect(ask({ target: { hostIds: [999_999] }, module: 'dns-tag' })).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/999999/) });
    await expect(ask({ target: { all: true }, module: 'no-such-module' })).rejects.toMatchObject({ code: 'invalid_request', message: 'no deployment of no-such-module on the target' });
    await expect(ask({ target: { all: true }, moduleId: 1 })).rejects.toMatchObject({ code: 'invalid_message' });
    await expect(ask({ target: { hostIds: [hosts[0]] } })).rejects.toMatchObject({ code: 'invalid_message', message: expect.stringMatching(/exactly one of module or moduleId/) });

    // The core refuses a priority another module holds on the device, though the CIB does not know that module.
    const h = hosts[7];
    const id = dnsTag.get(h)!;
    fleet.device(h)!.driver.forceInstall(60_000, { priority: 6000 });
    const reply = await sys.bus.request(Subjects.cmd.priority, undefined, { target: { hostIds: [h] }, moduleId: id, priority: 6000 });
    expect(await settled(sys, reply.operationId)).toMatchObject({ status: 'failed', failed: 1 });
    const [row] = await sys.query<{ state: string; last_error: string }>(`SELECT state, last_error FROM pending_operations WHERE operation_id = $1`, [reply.operationId]);
    expect(row.state).toBe('failed');
    expect(row.last_error).toMatch(/priority 6000|Result 0/);
    expect((await deployment(sys, h, id))!.priority).not.toBe(6000);
  });
});
