import { readNcoBlock, readElf, Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { createService } from '@nco/runtime';
import { ArtifactStore } from '@nco/events';
import { createHash } from 'node:crypto';
import { constructService } from '../../apps/construct-svc/src/app';
import { TestSystem } from '../support/system';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const runCli = (sys: TestSystem, ...args: string[]) =>
  promisify(execFile)(process.execPath, ['dist/apps/cli/src/main.js', ...args], { env: { ...process.env, NATS_URL: sys.nats.url } });

const RELEASE = process.env.KBUILD_TEST_RELEASE || '6.1.0-56-amd64';

/** Construct through the running services: symvers from simulated DCAs, real kbuild, stamping. */
describe('construct: catalog, symvers, build once and stamp per host', () => {
  const sys = new TestSystem({ reportIntervalMs: 500 });

  beforeAll(() => sys.start());
  afterAll(() => sys.stop());

  const operation = (operationId: string) =>
    pollUntil(async () => {
      const op = await sys.bus.request(Subjects.cmd.operationGet, undefined, { operationId });
      return op.pending === 0 ? op : null;
    }, `operation ${operationId} to settle`, 120_000, 200);

  it('lists the catalog loaded from modules/', async () => {
    const { modules } = await sys.bus.request(Subjects.cmd.catalogList, undefined, {});
    expect(modules.map((m) => m.name)).toEqual(expect.arrayContaining(['broken', 'dns-tag', 'port-match']));
    const pm = modules.find((m) => m.name === 'port-match')!;
    expect(pm.params.map((p) => p.name)).toEqual(['dst_addr', 'dst_port']);
  });

  it('builds one compile for two hosts of one kernel flavor and two different stamped artifacts', async () => {
    const fleet = await sys.fleet(2, { release: RELEASE, macPrefix: '02:c1:00' });
    const hostIds = fleet.devices.map((d) => d.hostId!);
    const { operationId, targetCount } = await sys.bus.request(Subjects.cmd.build, undefined, {
      module: 'dns-tag', target: { hostIds }, install: false, applyNow: true, params: {}, toolchain: 'stamp',
    });
    expect(targetCount).toBe(2);
    const op = await operation(operationId);
    expect(op).toMatchObject({ status: 'succeeded', succeeded: 2, failed: 0 });

    const symvers = await sys.query<{ host_id: number; sha256: string; release: string }>(`SELECT host_id, sha256, release FROM symvers WHERE host_id = ANY($1)`, [hostIds]);
    expect(symvers).toHaveLength(2);
    expect(symvers.every((s) => s.release === RELEASE && /^[0-9a-f]{64}$/.test(s.sha256))).toBe(true);

    const flavors = await sys.query<{ flavor: string; artifact_ref: string; artifact_sha256: string }>(`SELECT flavor, artifact_ref, artifact_sha256 FROM build_flavors`);
    expect(flavors).toHaveLength(1);
    const built = await sys.query<{ host_id: number; module_id: number; priority: number; key_id: string; artifact_sha256: string; artifact_size: number; req_install: boolean }>(
      `SELECT host_id, module_id, priority, key_id, artifact_sha256, artifact_size, req_install FROM built_modules WHERE operation_id = $1 ORDER BY host_id`, [operationId]);
    expect(built).toHaveLength(2);
    expect(built[0].artifact_sha256).not.toBe(built[1].artifact_sha256);
    expect(built[0].key_id).not.toBe(built[1].key_id);
    expect(built.every((b) => b.module_id >= 1 && b.priority >= 1 && b.priority <= 65534 && !b.req_install)).toBe(true);

    // The template is a real kernel module with an unstamped NCO block.
    const template = await new ArtifactStore(sys.bus.nc).get(flavors[0].artifact_ref, flavors[0].artifact_sha256);
    const sections = readElf(template).sections.map((s) => s.name);
    expect(sections).toEqual(expect.arrayContaining(['.l45_nco', '.modinfo', '__versions', '.gnu.linkonce.this_module']));
    expect(readNcoBlock(template).stamped).toBe(false);
    expect(template.length).toBe(built[0].artifact_size);
  });

  it('collects symvers from hosts when they check in, before any deploy needs them', async () => {
    const fleet = await sys.fleet(3, { release: RELEASE, macPrefix: '02:c5:00' });
    const hostIds = fleet.devices.map((d) => d.hostId!);
    const rows = await pollUntil(async () => {
      const r = await sys.query<{ host_id: number; release: string }>(`SELECT host_id, release FROM symvers WHERE host_id = ANY($1) ORDER BY host_id`, [hostIds]);
      return r.length === 3 ? r : null;
    }, 'symvers of the new hosts');
    expect(rows.map((r) => r.release)).toEqual([RELEASE, RELEASE, RELEASE]);
  });

  it('builds again without compiling when the flavor is known, and compiles anew when symvers changes', async () => {
    const before = (await sys.query(`SELECT flavor FROM build_flavors`)).length;
    const fleet = await sys.fleet(1, { release: RELEASE, macPrefix: '02:c2:00' });
    const hostId = fleet.devices[0].hostId!;
    let { operationId } = await sys.bus.request(Subjects.cmd.build, undefined, { module: 'dns-tag', target: { hostIds: [hostId] }, install: false, applyNow: true, params: {}, toolchain: 'stamp' });
    expect((await operation(operationId)).status).toBe('succeeded');
    expect((await sys.query(`SELECT flavor FROM build_flavors`)).length).toBe(before);

    // Another symvers for this host (e.g. a rebuilt core): a new flavor, a new compile.
    const symvers = Buffer.from('0x12345678\tl45_register_customization\tlayer4_5\tEXPORT_SYMBOL_GPL\t\n0x23456789\tl45_unregister_customization\tlayer4_5\tEXPORT_SYMBOL_GPL\t\n0x3456789a\tl45_flow_set_tag\tlayer4_5\tEXPORT_SYMBOL_GPL\t\n');
    await sys.query(`UPDATE symvers SET content = $2, sha256 = $3 WHERE host_id = $1`, [hostId, symvers, createHash('sha256').update(symvers).digest('hex')]);
    ({ operationId } = await sys.bus.request(Subjects.cmd.build, undefined, { module: 'dns-tag', target: { hostIds: [hostId] }, install: false, applyNow: true, params: {}, toolchain: 'stamp' }));
    expect((await operation(operationId)).status).toBe('succeeded');
    expect((await sys.query(`SELECT flavor FROM build_flavors`)).length).toBe(before + 1);
  });

  it('records a compile error with the compiler output, fails the operation, and does not retry', async () => {
    const fleet = await sys.fleet(1, { release: RELEASE, macPrefix: '02:c3:00' });
    const hostId = fleet.devices[0].hostId!;
    const { operationId } = await sys.bus.request(Subjects.cmd.build, undefined, { module: 'broken', target: { hostIds: [hostId] }, install: false, applyNow: true, params: {}, toolchain: 'stamp' });
    const op = await operation(operationId);
    expect(op).toMatchObject({ status: 'failed', failed: 1, succeeded: 0 });
    const list = await sys.bus.request(Subjects.cmd.buildsList, undefined, { operationId, limit: 10 });
    expect(list.errors).toHaveLength(1);
    expect(list.errors[0].error).toMatch(/this_symbol_does_not_exist/);
    expect(list.builds).toHaveLength(0);
    expect(await sys.query(`SELECT count(*)::int AS n FROM built_modules WHERE operation_id = $1`, [operationId])).toEqual([{ n: 0 }]);
    const failed = await pollUntil(async () => {
      const l = await sys.bus.request(Subjects.cmd.buildsList, undefined, { operationId, limit: 10 });
      return l.failedJobs.find((j) => j.reason.includes('failed to compile'));
    }, 'the failed job to be visible');
    expect(failed.attempts).toBe(1);
  });

  it('refuses bad build requests with a clear error and writes nothing', async () => {
    const ops = async () => (await sys.query<{ n: number }>(`SELECT count(*)::int AS n FROM operations`))[0].n;
    const before = await ops();
    const ask = (body: Record<string, unknown>) => sys.bus.request(Subjects.cmd.build, undefined, { install: false, applyNow: true, params: {}, toolchain: 'stamp', ...body } as never);
    await expect(ask({ module: 'nope', target: { all: true } })).rejects.toMatchObject({ code: 'not_found' });
    await expect(ask({ module: 'dns-tag', target: { hostIds: [999999] } })).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/999999/) });
    await expect(ask({ module: 'port-match', target: { all: true }, params: { dst_port: 70000 } })).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/dst_port/) });
    await expect(ask({ module: 'port-match', target: { all: true }, params: { colour: 'red' } })).rejects.toMatchObject({ message: expect.stringMatching(/colour: not a parameter/) });
    await expect(ask({ module: 'dns-tag', target: {} })).rejects.toMatchObject({ code: 'invalid_message' });
    expect(await ops()).toBe(before);
  });

  it('builds every request exactly once with two construct-svc replicas and a burst of requests', async () => {
    const second = await createService(constructService, sys.env);
    sys.services.push(second);
    const fleet = await sys.fleet(20, { release: RELEASE, macPrefix: '02:c4:00' });
    const hostIds = fleet.devices.map((d) => d.hostId!);
    const ops = await Promise.all(
      hostIds.map((id) => sys.bus.request(Subjects.cmd.build, undefined, { module: 'dns-tag', target: { hostIds: [id] }, install: false, applyNow: true, params: {}, toolchain: 'stamp' })),
    );
    for (const { operationId } of ops) expect((await operation(operationId)).status).toBe('succeeded');
    const rows = await sys.query<{ host_id: number; n: number }>(`SELECT host_id, count(*)::int AS n FROM built_modules WHERE host_id = ANY($1) GROUP BY host_id`, [hostIds]);
    expect(rows).toHaveLength(20);
    expect(rows.every((r) => r.n === 1)).toBe(true);
  });

  it('serves the catalog and build errors to `nco catalog` and `nco builds`, and refuses a bad module directory', async () => {
    const listed = JSON.parse((await runCli(sys, 'catalog', '--json')).stdout);
    expect(listed.map((m: { name: string }) => m.name)).toEqual(expect.arrayContaining(['dns-tag', 'port-match']));
    const dir = mkdtempSync(join(tmpdir(), 'nco-mod-'));
    cpSync('modules/port-match', dir, { recursive: true });
    writeFileSync(join(dir, 'module.json'), JSON.stringify({ ...require('../../modules/port-match/module.json'), name: 'port-match-copy' }));
    expect((await runCli(sys, 'catalog', 'add', dir)).stdout).toMatch(/port-match-copy: added/);
    writeFileSync(join(dir, 'port_match.c'), 'int main(void) { return 0; }\n');
    const refused = await runCli(sys, 'catalog', 'add', dir).catch((e) => e);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/lacks the markers/);
    const builds = JSON.parse((await runCli(sys, 'builds', '--module', 'broken', '--json')).stdout);
    expect(builds.errors[0].error).toMatch(/this_symbol_does_not_exist/);
  });
});
