import { Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../../apps/dca/src/agent/agent';
import { MemoryInverseStore } from '../../apps/dca/src/middlebox/memory-inverse-store';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { nco as runNco } from '../support/cli';
import { buildAndInstall, lifecycleSystem, RELEASE, settled } from './lifecycle-support';

const DISSECTOR = readFileSync(join(__dirname, '../../modules/dns-tag/inverse/wireshark/l45_dns_tag.lua'));
const FILE = 'l45_dns_tag.lua';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * Inverse modules through the running services: plain hosts and middleboxes of two types
 * (wireshark, ids) as simulated DCAs. deploy-svc keeps every middlebox of a type holding the
 * inverse modules of the modules deployed anywhere, monitor-svc reconciles what middleboxes
 * report holding, and the CLI links and unlinks inverse modules.
 */
describe('middleboxes: inverse modules kept in step with deployments', () => {
  const sys = lifecycleSystem(15, { reportIntervalMs: 500, env: { MAX_ATTEMPTS: '3', RETRY_BASE_MS: '100', RETRY_MAX_MS: '300' } });
  let fleet: Fleet;
  let hosts: number[];
  let wireshark: Agent[];
  let ids: Agent;
  const nco = (...args: string[]) => runNco(sys.nats.url, ...args);
  const store = (a: Agent) => a.inverse!.store as MemoryInverseStore;
  const holds = (a: Agent, file = FILE) => store(a).read(file);
  const records = (hostId: number) =>
    sys.query<{ module: string; state: string; installed_at: Date | null; removed_at: Date | null; last_error: string | null; gave_up: boolean }>(
      `SELECT im.module_name AS module, d.state, d.installed_at, d.removed_at, d.last_error, d.gave_up_at IS NOT NULL AS gave_up
       FROM inverse_deployments d JOIN inverse_modules im ON im.id = d.inverse_module_id WHERE d.middlebox_host_id = $1 ORDER BY im.module_name, im.middlebox_type`,
      [hostId],
    );
  const revoke = async (hostId: number) => {
    const { operationId } = await sys.bus.request(Subjects.cmd.revoke, undefined, { target: { hostIds: [hostId] }, module: 'dns-tag' });
    expect(await settled(sys, operationId)).toMatchObject({ status: 'succeeded' });
  };
  const deploy = async (hostIds: number[]) => expect(await settled(sys, await buildAndInstall(sys, hostIds), 120_000)).toMatchObject({ status: 'succeeded' });
  const quietFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

  beforeAll(async () => {
    await sys.start();
    fleet = await sys.fleet(3, { release: RELEASE, macPrefix: '02:e1:00', middleboxes: { wireshark: 2, ids: 1 } });
    hosts = fleet.devices.filter((d) => !d.identity.middleboxType).map((d) => d.hostId!);
    wireshark = fleet.devices.filter((d) => d.identity.middleboxType === 'wireshark');
    ids = fleet.devices.find((d) => d.identity.middleboxType === 'ids')!;
  }, 120_000);
  afterAll(() => sys.stop());

  it('deploying dns-tag delivers its dissector once, to the wireshark middleboxes only', async () => {
    await deploy([hosts[0]]);
    await pollUntil(async () => wireshark.every((w) => holds(w)), 'the dissector on both wireshark middleboxes', 30_000);
    // The devices hold it a moment before deploy-svc records their answers in the CIB.
    await pollUntil(async () => (await Promise.all(wireshark.map((w) => records(w.hostId!)))).every((r) => r[0]?.state === 'installed'), 'the CIB to record both', 30_000);
    for (const w of wireshark) {
      expect(holds(w)).toEqual(DISSECTOR);
      expect(await records(w.hostId!)).toEqual([expect.objectContaining({ module: 'dns-tag', state: 'installed', removed_at: null, last_error: null })]);
    }
    expect(await store(ids).list()).toEqual([]);
    expect(await records(ids.hostId!)).toEqual([]);
    // Several report intervals later: still written exactly once per middlebox, and the reports confirm it.
    await quietFor(1_500);
    expect(wireshark.map((w) => store(w).attempts)).toEqual([1, 1]);
    expect((await wireshark[0].report('interval'))?.inverse).toEqual([{ file: FILE, sha256: sha(DISSECTOR), size: DISSECTOR.length }]);
    const list = await nco('middleboxes', '--json');
    expect(list.code).toBe(0);
    expect(list.json().middleboxes).toEqual(
      expect.arrayContaining([expect.objectContaining({ hostId: wireshark[0].hostId, type: 'wireshark', inverse: [expect.objectContaining({ module: 'dns-tag', file: FILE, state: 'installed' })] })]),
    );
  });

  it('a wireshark middlebox that checks in later receives what it lacks', async () => {
    const late = await sys.fleet(0, { release: RELEASE, macPrefix: '02:e2:00', middleboxes: { wireshark: 1 } });
    const box = late.devices[0];
    await pollUntil(async () => holds(box), 'the dissector on the late middlebox', 30_000);
    expect(holds(box)).toEqual(DISSECTOR);
    wireshark.push(box);
  });

  it('revoking one of two deployments keeps the dissector; revoking the last one removes it everywhere', async () => {
    await deploy([hosts[1]]);
    await revoke(hosts[0]);
    await quietFor(1_500); // reconciles and reports come and go: nothing is removed while hosts[1] runs dns-tag
    for (const w of wireshark) {
      expect(holds(w)).toEqual(DISSECTOR);
      expect((await records(w.hostId!))[0].state).toBe('installed');
    }
    await revoke(hosts[1]);
    await pollUntil(async () => wireshark.every((w) => !holds(w)), 'the dissector removed from every wireshark middlebox', 30_000);
    for (const w of wireshark) {
      const [r] = await pollUntil(async () => ((await records(w.hostId!))[0]?.state === 'removed' ? records(w.hostId!) : null), 'removed in the CIB');
      expect(r.removed_at).toBeInstanceOf(Date);
      expect(r.installed_at).toBeInstanceOf(Date);
    }
  });

  it('a middlebox that fails a write gives up after its retries and converges on its next check-in', async () => {
    const [broken, healthy] = wireshark;
    store(broken).failWrites = 'ENOSPC: no space left on device';
    const before = store(broken).attempts;
    await deploy([hosts[2]]);
    await pollUntil(async () => holds(healthy), 'the dissector on the healthy middlebox', 30_000);
    const [given] = await pollUntil(async () => ((await records(broken.hostId!))[0]?.gave_up ? records(broken.hostId!) : null), 'the broken middlebox given up', 30_000);
    expect(given).toMatchObject({ state: 'required', last_error: expect.stringMatching(/^gave up after 3 attempts .*ENOSPC: no space left on device/) });
    expect(store(broken).attempts - before).toBe(3);

    // Repaired, but nothing is sent until it checks in again (no retry storm against a broken box).
    store(broken).failWrites = undefined;
    await quietFor(1_500);
    expect(holds(broken)).toBeUndefined();
    await fleet.stopDevice(broken.hostId!);
    await fleet.startDevice(broken.hostId!);
    await pollUntil(async () => holds(broken), 'the dissector after the check-in', 30_000);
    // The device holds it first; the CIB records it when deploy-svc settles the answer.
    const [settled] = await pollUntil(async () => {
      const r = await records(broken.hostId!);
      return r[0]?.state === 'installed' ? r : null;
    }, 'the CIB to record the dissector installed', 30_000);
    expect(settled).toMatchObject({ state: 'installed', gave_up: false, last_error: null });
  });

  it('links and unlinks an inverse module for another middlebox type with the CLI; a bad link changes nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nco-inverse-'));
    const rules = join(dir, 'l45_dns_tag.rules');
    writeFileSync(rules, 'alert udp any any -> any 53 (msg:"Layer 4.5 DNS tag"; content:"L4"; offset:0; depth:2; sid:4500001;)\n');
    const big = join(dir, 'big.rules');
    writeFileSync(big, Buffer.alloc(300 * 1024, 65));

    const unknown = await nco('inverse', 'link', 'no-such-module', 'ids', rules);
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringMatching(/not_found: module no-such-module is not in the catalog/) });
    const tooBig = await nco('inverse', 'link', 'dns-tag', 'ids', big);
    expect(tooBig).toMatchObject({ code: 1, stderr: expect.stringMatching(/at most 262144 bytes/) });
    const badType = await nco('inverse', 'link', 'dns-tag', 'Bad Type', rules);
    expect(badType.code).toBe(2);
    expect(await sys.query(`SELECT count(*)::int AS n FROM inverse_modules WHERE middlebox_type = 'ids'`)).toEqual([{ n: 0 }]);

    const linked = await nco('inverse', 'link', 'dns-tag', 'ids', rules);
    expect(linked).toMatchObject({ code: 0, stdout: expect.stringMatching(/dns-tag → ids: l45_dns_tag\.rules linked/) });
    // dns-tag runs on hosts[2]: the ids middlebox gets the rules, the wireshark ones are untouched.
    await pollUntil(async () => holds(ids, 'l45_dns_tag.rules'), 'the rules on the ids middlebox', 30_000);
    expect(holds(ids, 'l45_dns_tag.rules')).toEqual(readFileSync(rules));
    expect(holds(wireshark[0], 'l45_dns_tag.rules')).toBeUndefined();

    // The CIB records it once deploy-svc settles the device's answer, a moment after the write.
    const installedRow = new RegExp(`${ids.hostId}\\s+ids\\s+.*dns-tag:l45_dns_tag\\.rules \\(installed\\)`);
    const table = await pollUntil(async () => {
      const t = await nco('middleboxes');
      return installedRow.test(t.stdout) ? t : null;
    }, 'nco middleboxes to show the rules installed', 30_000);
    expect(table.stdout).toMatch(installedRow);

    const unlinked = await nco('inverse', 'unlink', 'dns-tag', 'ids');
    expect(unlinked).toMatchObject({ code: 0, stdout: expect.stringMatching(/removing it from 1 middlebox/) });
    await pollUntil(async () => !holds(ids, 'l45_dns_tag.rules'), 'the rules removed from the ids middlebox', 30_000);
    expect((await nco('inverse', 'unlink', 'dns-tag', 'ids'))).toMatchObject({ code: 1, stderr: expect.stringMatching(/not_found/) });
    expect(holds(wireshark[1])).toEqual(DISSECTOR); // wireshark's dissector still follows dns-tag on hosts[2]
  });
});
