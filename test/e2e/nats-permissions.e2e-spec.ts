import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, credsAuthenticator } from 'nats';
import { initNatsAuthDir, issueDeviceInDir, revokeInDir } from '../../libs/events/src/security/nats-auth-dir';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { TestSystem } from '../support/system';
import { buildAndInstall, lifecycleSystem, RELEASE, settled } from './lifecycle-support';

/**
 * The whole NCO on a nats-server with decentralized JWT auth (docs/security.md, "NATS
 * permissions"): the six services on their `services` creds, a simulated fleet on `fleet` creds,
 * `nco` on `operator` creds. A build-and-install goes through, so these permission sets are enough
 * for the real system; the per-device rules themselves are shown in nats-auth.medium-spec.ts.
 */
describe('NATS permissions: the running system under JWT auth', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nco-nats-auth-e2e-'));
  let sys: TestSystem;
  let fleet: Fleet;
  let hosts: number[];
  const nco = (args: string[], creds: string) =>
    promisify(execFile)(process.execPath, ['dist/apps/cli/src/main.js', ...args], { env: { ...process.env, NATS_URL: sys.nats.url, NATS_CREDS_FILE: creds } });

  beforeAll(async () => {
    await initNatsAuthDir(dir);
    sys = lifecycleSystem(18, {
      reportIntervalMs: 500,
      natsAuth: { config: readFileSync(join(dir, 'auth.conf'), 'utf8'), servicesCreds: join(dir, 'creds', 'services.creds'), fleetCreds: join(dir, 'creds', 'fleet.creds') },
    });
    await sys.start();
    fleet = await sys.fleet(2, { release: RELEASE, macPrefix: '02:e9:00' });
    hosts = fleet.devices.map((d) => d.hostId!);
  });

  afterAll(async () => {
    await sys?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the fleet checks in and a build-and-install succeeds on every host', async () => {
    expect(hosts).toHaveLength(2);
    const operationId = await buildAndInstall(sys, hosts);
    expect(await settled(sys, operationId, 120_000)).toMatchObject({ status: 'succeeded', succeeded: 2 });
  });

  it('nco works on operator creds and is refused with a device creds file', async () => {
    const { stdout } = await nco(['hosts', '--json'], join(dir, 'creds', 'operator.creds'));
    expect(JSON.parse(stdout).map((h: { hostId: number }) => h.hostId).sort()).toEqual([...hosts].sort());

    // `nco watch` follows the report stream through its ordered consumer.
    const watched = await nco(['watch', '--reports', '--all', '--count', '1', '--json'], join(dir, 'creds', 'operator.creds'));
    expect(JSON.parse(watched.stdout.trim())).toMatchObject({ type: 'dca.report' });

    await issueDeviceInDir(dir, hosts[0]);
    // A device may not send NCO commands: the server refuses the request by name.
    await expect(nco(['hosts', '--timeout', '1000'], join(dir, 'devices', `${hosts[0]}.creds`))).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/Permissions Violation for Publish to "nco\.cmd\.hosts\.list"/) });
  });

  it('a revoked device key is shut out of the running system', async () => {
    const { credsPath: device } = await issueDeviceInDir(dir, hosts[0]);
    const nc = await connect({ servers: sys.nats.url, authenticator: credsAuthenticator(readFileSync(device!)), reconnect: false });
    await new Promise((r) => setTimeout(r, 1_100));
    await revokeInDir(dir, [String(hosts[0])], { servers: sys.nats.url });
    await expect(nc.closed()).resolves.toBeDefined();
    await expect(connect({ servers: sys.nats.url, authenticator: credsAuthenticator(readFileSync(device!)), reconnect: false })).rejects.toThrow(/authorization/i);
    // The services are untouched: the orchestrator still answers.
    const { stdout } = await nco(['hosts', '--json'], join(dir, 'creds', 'operator.creds'));
    expect(JSON.parse(stdout)).toHaveLength(2);
  });
});

describe('npm run nats-auth (tools/nats-auth.mjs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nco-nats-auth-cli-'));
  const tool = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['tools/nats-auth.mjs', ...args]).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('init, device, revoke, keys; refuses a second init, unknown hosts and commands', async () => {
    const auth = join(dir, 'auth');
    expect(await tool('init', auth)).toMatchObject({ code: 0, stdout: expect.stringMatching(/^operator O[A-Z2-7]{55}\n/) });
    expect(await tool('init', auth)).toMatchObject({ code: 1, stderr: expect.stringMatching(/exists: refusing to replace the operator/) });
    expect(await tool('device', auth, '5')).toMatchObject({ code: 0, stdout: expect.stringContaining(join(auth, 'devices', '5.creds')) });
    expect(await tool('device', auth, 'five')).toMatchObject({ code: 2, stderr: expect.stringMatching(/host id must be a non-negative integer/) });
    expect(await tool('revoke', auth, '6')).toMatchObject({ code: 1, stderr: expect.stringMatching(/6: neither a user public key/) });
    expect(await tool('revoke', auth, '5')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^revoked U[A-Z2-7]{55}\nrecorded in auth.conf only/) });
    const keys = JSON.parse((await tool('keys', auth)).stdout);
    expect(Object.keys(keys).sort()).toEqual(['account', 'accountSigningKey', 'operator', 'operatorSigningKey', 'systemAccount']);
    expect(readFileSync(join(auth, 'auth.conf'), 'utf8')).toContain(`system_account: ${keys.systemAccount}`);
    expect(await tool('bogus', auth)).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command "bogus"/) });
  });
});
