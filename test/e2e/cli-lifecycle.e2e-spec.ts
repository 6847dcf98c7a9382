import { pollUntil } from '@nco/events/testing';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { nco as runNco } from '../support/cli';
import { TestSystem } from '../support/system';
import { lifecycleSystem, RELEASE } from './lifecycle-support';

/**
 * Every lifecycle command of `nco`, end to end: the CLI → NATS → the six services and the CIB →
 * simulated DCAs → their reports → back to the CLI (progress, tables, JSON, exit codes).
 */
describe('nco lifecycle commands through the running system', () => {
  // security-svc sweeps often, with its default window (1h): only a deploy that sets its own short window is challenged here.
  const sys: TestSystem = lifecycleSystem(14, { reportIntervalMs: 300, env: { CHALLENGE_SWEEP_MS: '500' } });
  let fleet: Fleet;
  let h: number[];
  const nco = (...args: string[]) => runNco(sys.nats.url, ...args);
  const ok = async (...args: string[]) => {
    const r = await nco(...args);
    if (r.code !== 0) throw new Error(`nco ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
    return r;
  };
  const driver = (hostId: number) => fleet.device(hostId)!.driver;
  const modulesOf = async (hostId: number) => (await ok('modules', String(hostId), '--json')).json();
  const moduleIdOf = async (hostId: number, name: string) => (await modulesOf(hostId)).deployments.find((d: any) => d.moduleName === name && !d.deprecated)?.moduleId as number;
  const goOffline = async (hostId: number) => {
    await fleet.stopDevice(hostId);
    await pollUntil(async () => (await ok('hosts', '--offline', '--json')).json().some((x: any) => x.hostId === hostId), `host ${hostId} offline`);
  };

  beforeAll(async () => {
    await sys.start();
    fleet = await sys.fleet(9, { release: RELEASE, macPrefix: '02:c1:00' });
    h = fleet.devices.map((d) => d.hostId!);
  }, 120_000);
  afterAll(() => sys.stop());

  it('deploys with progress and a result; the same deploy again builds nothing new for hosts that run it', async () => {
    const first = await ok('deploy', 'dns-tag', '--host', `${h[0]},${h[1]}`);
    expect(first.stdout).toMatch(/\(deploy\): succeeded: 2 succeeded, 0 failed, 0 pending of 2 host\(s\)/);
    expect(first.stderr).toMatch(/2\/2 hosts settled \(2 ok, 0 failed\), succeeded/);
    const m0 = await modulesOf(h[0]);
    expect(m0.deployments).toEqual([expect.objectContaining({ moduleName: 'dns-tag', state: 'installed', activeMode: 1 })]);

    const again = await ok('deploy', 'dns-tag', '--host', `${h[0]},${h[1]},${h[2]}`, '--json');
    expect(again.json()).toMatchObject({ status: 'succeeded', targetCount: 3, succeeded: 3, failed: 0 });
    for (const x of [h[0], h[1], h[2]]) expect((await driver(x).report()).Installed).toHaveLength(1);
    expect((await modulesOf(h[0])).deployments).toHaveLength(1);

    const status = await ok('status', String(h[0]));
    expect(status.stdout).toMatch(/dns-tag\s+installed\s+on/);
    const ops = (await ok('operations', '--json')).json();
    expect(ops.map((o: any) => o.kind)).toEqual(['deploy', 'deploy']);
  });

  it('toggles, sets a priority (refusing a collision), deprecates, revokes', async () => {
    const id0 = await moduleIdOf(h[0], 'dns-tag');
    const id1 = await moduleIdOf(h[1], 'dns-tag');
    expect((await ok('toggle', 'dns-tag', 'off', '--host', `${h[0]},${h[1]}`, '--json')).json()).toMatchObject({ kind: 'toggle', status: 'succeeded', succeeded: 2 });
    expect(driver(h[0]).inspect(id0)!.activated).toBe(0);

    await ok('priority', String(id0), '4321', '--host', String(h[0]));
    expect(driver(h[0]).inspect(id0)!.priority).toBe(4321);
    await pollUntil(async () => (await modulesOf(h[0])).deployments[0].priority === 4321, 'the CIB to show priority 4321');

    // An explicit priority another module of the host holds: refused, nothing written.
    const opsBefore = (await ok('operations', '--json')).json().length;
    const clash = await nco('deploy', 'port-match', '--host', String(h[0]), '--priority', '4321');
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/^nco: conflict: priority 4321 is already used on 1 host\(s\): host \d+ \(module \d+\); pick another or omit it\n$/);
    expect((await ok('operations', '--json')).json()).toHaveLength(opsBefore);

    await ok('deprecate', 'dns-tag', '--host', String(h[1]));
    expect(driver(h[1]).inspect(id1)!.deprecated).toBe(true);
    await pollUntil(async () => (await modulesOf(h[1])).deployments[0]?.deprecated === true, 'the CIB to show it deprecated');

    const revoked = await ok('revoke', String(id1), '--host', String(h[1]), '--reason', 'cli test');
    expect(revoked.stdout).toMatch(/\(revoke\): succeeded/);
    expect(driver(h[1]).inspect(id1)).toBeUndefined();
    await pollUntil(async () => (await modulesOf(h[1])).deployments.length === 0, 'the deployment gone from the CIB');
  });

  it('queues a deploy for an offline device, which converges when it returns', async () => {
    await goOffline(h[3]);
    const accepted = (await ok('deploy', 'dns-tag', '--host', String(h[3]), '--no-wait', '--json')).json();
    expect(accepted).toMatchObject({ targetCount: 1 });
    await new Promise((r) => setTimeout(r, 1_000));
    expect((await ok('status', accepted.operationId, '--json')).json()).toMatchObject({ status: 'running', pending: 1 });
    await fleet.startDevice(h[3]);
    const done = await ok('status', accepted.operationId, '--follow', '--json');
    expect(done.json()).toMatchObject({ status: 'succeeded', succeeded: 1 });
    expect((await driver(h[3]).report()).Installed).toHaveLength(1);
  });

  it('reports an install the device refuses: exit 1, the host and the reason', async () => {
    // A module loaded by hand holds priority 777 on the device; the NCO has not seen it yet.
    driver(h[4]).forceInstall(61_000, { priority: 777 });
    const r = await nco('deploy', 'dns-tag', '--host', String(h[4]), '--priority', '777');
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(new RegExp(`\\(deploy\\): failed: 0 succeeded, 1 failed, 0 pending of 1 host\\(s\\)\n`));
    expect(r.stdout).toMatch(new RegExp(`\n${h[4]}\\s+\\d+\\s+install\\s+.*priority 777`));
    expect(r.stderr).toMatch(new RegExp(`\nnco: operation [0-9a-f-]{36} failed: 1 of 1 host\\(s\\) failed; host ${h[4]}: .*priority 777`));
    expect((await driver(h[4]).report()).Installed.map((m) => m.ID)).toEqual([61_000]);
  });

  it('shows a module the device runs that the NCO never built, and a module the device lost (host error)', async () => {
    driver(h[5]).forceInstall(60_000);
    await fleet.reportNow(h[5]);
    await pollUntil(async () => (await modulesOf(h[5])).unknown.some((u: any) => u.moduleId === 60_000), 'the unknown module in the CIB');
    expect((await ok('modules', String(h[5]))).stdout).toMatch(/never built:\n.*\n60000 /);

    const id2 = await moduleIdOf(h[2], 'dns-tag');
    driver(h[2]).forget(id2);
    await fleet.reportNow(h[2]);
    await pollUntil(async () => (await modulesOf(h[2])).deployments[0].hostErrorAt !== null, 'the host error in the CIB');
    expect((await ok('status', String(h[2]))).stdout).toMatch(/not reported by the device since/);

    // The operator deploys it again (the lost copy does not count as running) and revokes the lost one.
    expect((await ok('deploy', 'dns-tag', '--host', String(h[2]), '--json')).json()).toMatchObject({ status: 'succeeded', succeeded: 1 });
    expect((await driver(h[2]).report()).Installed).toHaveLength(1);
    expect((await ok('revoke', String(id2), '--host', String(h[2]), '--json')).json()).toMatchObject({ status: 'succeeded', succeeded: 1 });
    await pollUntil(async () => (await modulesOf(h[2])).deployments.map((d: any) => d.moduleId).join() === String((await driver(h[2]).report()).Installed[0].ID), 'only the new module in the CIB');
  });

  it('rotates: the old module is revoked where its sockets drained, and waits where they have not', async () => {
    await ok('deploy', 'dns-tag', '--host', `${h[6]},${h[7]}`, '--quiet');
    const [old6, old7] = [await moduleIdOf(h[6], 'dns-tag'), await moduleIdOf(h[7], 'dns-tag')];
    driver(h[6]).setSocketCount(old6, 2);
    const { operationId } = (await ok('rotate', 'dns-tag', 'port-match', '--host', `${h[6]},${h[7]}`, '--drain-timeout', '1h', '--no-wait', '--json')).json();

    await pollUntil(() => driver(h[7]).inspect(old7) === undefined, 'the drained old module revoked on one host', 60_000);
    expect(driver(h[6]).inspect(old6)).toMatchObject({ deprecated: true, count: 2 });
    const report6 = await driver(h[6]).report();
    expect(report6.Installed).toHaveLength(1);
    expect(report6.Deprecated.map((m) => m.ID)).toEqual([old6]);
    expect((await ok('status', operationId, '--json')).json()).toMatchObject({ kind: 'rotate', status: 'running' });

    driver(h[6]).setSocketCount(old6, 0);
    expect((await ok('status', operationId, '--follow', '--wait-timeout', '30s', '--json')).json()).toMatchObject({ status: 'succeeded', succeeded: 2 });
    expect(driver(h[6]).inspect(old6)).toBeUndefined();
    for (const x of [h[6], h[7]]) expect((await modulesOf(x)).deployments.map((d: any) => d.moduleName)).toEqual(['port-match']);
  });

  it('labels hosts and deploys by label', async () => {
    expect((await ok('label', `${h[0]},${h[3]}`, 'rack=a1', 'tier=edge')).stdout).toBe('labelled 2 of 2 host(s)\n');
    expect((await ok('hosts', '--label', 'rack=a1', '--json')).json().map((x: any) => x.hostId).sort()).toEqual([h[0], h[3]].sort());
    expect((await ok('deploy', 'port-match', '--label', 'rack=a1', '-p', 'dst_port=53', '--json')).json()).toMatchObject({ status: 'succeeded', targetCount: 2 });
    await ok('label', String(h[3]), '--remove', 'rack');
    expect((await ok('hosts', '--label', 'rack=a1', '--json')).json().map((x: any) => x.hostId)).toEqual([h[0]]);
  });

  it('deploys with a security window of its own: the module is challenged by it and verified', async () => {
    await ok('deploy', 'dns-tag', '--host', String(h[8]), '--security-window', '2s', '--quiet');
    const first = await pollUntil(async () => {
      const d = (await modulesOf(h[8])).deployments[0];
      return d?.state === 'verified' && d.securityCheckedAt ? d : null;
    }, 'the deployment challenged and verified', 30_000);
    expect(first).toMatchObject({ moduleName: 'dns-tag', securityWindowS: 2 });
    await pollUntil(async () => (await modulesOf(h[8])).deployments[0].securityCheckedAt > first.securityCheckedAt, 'a second challenge 2s later', 30_000);
    expect((await ok('modules', String(h[8]))).stdout).toMatch(/dns-tag\s+verified\s.*ago \(every 2s\)/);
    // A deploy without one keeps security-svc's default (1h): not challenged yet.
    expect((await modulesOf(h[0])).deployments.find((d: any) => d.moduleName === 'port-match')).toMatchObject({ state: 'installed', securityCheckedAt: null, securityWindowS: null });
  });

  it('explains every refusal on one line, with exit 1 (refused) or 2 (usage), and changes nothing', async () => {
    const before = (await ok('operations', '--json', '--limit', '1000')).json().length;
    const cases: Array<[string[], number, RegExp]> = [
      [['deploy', 'no-such-module', '--all'], 1, /^nco: not_found: .*no-such-module/],
      [['deploy', 'dns-tag'], 2, /say which hosts: --host <ids>, --label <key=value> or --all/],
      [['deploy', 'dns-tag', '--host', '1', '--all'], 2, /give only one of --host, --all/],
      [['deploy', 'dns-tag', '--label', 'rack=nowhere'], 1, /the target matches no host/],
      [['deploy', 'dns-tag', '--host', '999999'], 1, /unknown or middlebox hosts: 999999/],
      [['deploy', 'port-match', '--all', '-p', 'nosuch=1'], 1, /nosuch: not a parameter of this module/],
      [['toggle', 'dns-tag', 'maybe', '--all'], 2, /expected on or off/],
      [['priority', '5', '10', '--all'], 2, /module id 5 is per host: give exactly one --host/],
      [['priority', 'dns-tag', '70000', '--all'], 2, /from 1 to 65534/],
      [['revoke', 'port-match', '--host', String(h[5])], 1, /no deployment of port-match on the target/],
      [['status', '999999'], 1, /not_found: no host 999999/],
      [['status', 'nonsense'], 2, /neither an operation id \(uuid\) nor a host id/],
      [['status', '00000000-0000-4000-8000-000000000000'], 1, /not_found: no operation/],
      [['modules', '999999'], 1, /not_found: no host 999999/],
      [['label', String(h[0])], 2, /give labels to set/],
      [['rotate', 'dns-tag', 'port-match', '--all', '--drain-timeout', 'soon'], 2, /expected a duration/],
      [['deploy', 'dns-tag', '--all', '--security-window', '500ms'], 2, /expected a duration from 1s to 30d/],
    ];
    for (const [args, code, message] of cases) {
      const r = await nco(...args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code, stdout: '' });
      expect(r.stderr).toMatch(message);
    }
    expect((await ok('operations', '--json', '--limit', '1000')).json()).toHaveLength(before);
  });

  it('has --help on every command', async () => {
    for (const c of ['hosts', 'label', 'modules', 'deploy', 'toggle', 'priority', 'deprecate', 'revoke', 'rotate', 'status', 'operations', 'watch']) {
      const r = await nco(c, '--help');
      expect({ c, code: r.code }).toEqual({ c, code: 0 });
      expect(r.stdout).toMatch(new RegExp(`^Usage: nco ${c} `));
    }
  });
});
