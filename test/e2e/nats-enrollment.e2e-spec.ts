import { importDeviceKeys, signDeviceEnvelope, Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { connect, credsAuthenticator, ErrorCode, Events, NatsConnection, Status } from 'nats';
import { loadCreds } from '../../libs/events/src/nats/creds';
import { initNatsAuthDir } from '../../libs/events/src/security/nats-auth-dir';
import { orchestrator } from '../../apps/orchestrator/src/app';
import { monitor } from '../../apps/monitor-svc/src/app';
import { ALL_SERVICES, TestSystem } from '../support/system';
import { RELEASE } from './lifecycle-support';

/**
 * Enrollment hands a device its NATS user (docs/security.md, "NATS permissions"): solo DCA
 * processes start on the shared bootstrap creds, enroll with the token, receive their JWT at
 * check-in, save their creds and reconnect as themselves; `nco devices revoke` cuts a device's
 * NATS access at once while the other keeps working.
 */
describe('NATS permissions: device creds issued at enrollment, cut at revoke', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nco-nats-enroll-'));
  let sys: TestSystem;
  const dcas = new Map<string, { child: ChildProcess; lines: string[] }>();
  const macs = ['02:ea:00:00:00:01', '02:ea:00:00:00:02'];
  const stateDir = (mac: string) => join(dir, 'dca', mac.replace(/:/g, ''));
  const nco = (...args: string[]) =>
    promisify(execFile)(process.execPath, ['dist/apps/cli/src/main.js', ...args], { env: { ...process.env, NATS_URL: sys.nats.url, NATS_CREDS_FILE: join(dir, 'creds', 'operator.creds') } });
  const hostOf = async (mac: string) => (await sys.query<{ host_id: number; last_report_at: Date | null }>(`SELECT host_id, last_report_at FROM hosts WHERE mac = $1`, [mac]))[0];
  const reportedSince = (mac: string, since: Date) => pollUntil(async () => ((await hostOf(mac))?.last_report_at ?? new Date(0)) > since, `a report from ${mac} applied`, 20_000);

  function startDca(mac: string): void {
    const env = {
      ...process.env,
      NATS_URL: sys.nats.url,
      NATS_CREDS_FILE: join(dir, 'creds', 'bootstrap.creds'),
      DCA_MAC: mac,
      DCA_RELEASE: RELEASE,
      DCA_STATE_DIR: stateDir(mac),
      DCA_ENROLL_TOKEN: sys.enrollToken,
      DCA_TRUSTED_KEYS: sys.signingKey!.publicSpec,
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    };
    const child = spawn(process.execPath, ['dist/apps/dca/src/main.js'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
    child.stderr!.on('data', (d) => lines.push(String(d)));
    dcas.set(mac, { child, lines });
  }
  const logged = (mac: string, re: RegExp, from = 0) => pollUntil(() => dcas.get(mac)!.lines.slice(from).find((l) => re.test(l)), `${mac} to log ${re}`, 20_000);
  async function stopDca(mac: string): Promise<void> {
    const { child } = dcas.get(mac)!;
    if (child.exitCode !== null) return;
    child.kill('SIGTERM');
    await once(child, 'exit');
  }

  beforeAll(async () => {
    await initNatsAuthDir(dir);
    sys = new TestSystem({
      reportIntervalMs: 300,
      natsAuth: { config: readFileSync(join(dir, 'auth.conf'), 'utf8'), servicesCreds: join(dir, 'creds', 'services.creds'), fleetCreds: join(dir, 'creds', 'fleet.creds') },
      env: { NATS_AUTH_DIR: dir },
    });
    await sys.start(ALL_SERVICES.filter((s) => s === (orchestrator as unknown) || s === (monitor as unknown)));
    for (const mac of macs) startDca(mac);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...dcas.keys()].map(stopDca));
    await sys?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a DCA on the bootstrap creds enrolls, saves its own creds (0600) and works as itself', async () => {
    for (const mac of macs) {
      await logged(mac, /NATS creds received at enrollment/);
      await logged(mac, /"bootstrap":false/);
      const file = join(stateDir(mac), 'nats.creds');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const { host_id } = await pollUntil(() => hostOf(mac), `${mac} registered`);
      // The saved JWT is this host's device user: its private inbox.
      expect(loadCreds(file).inboxPrefix).toBe(`_INBOX_${host_id}`);
      await reportedSince(mac, new Date(Date.now() - 500));
    }
  });

  it('a device cannot publish as another host', async () => {
    const [a, b] = await Promise.all(macs.map(hostOf));
    const creds = loadCreds(join(stateDir(macs[0]), 'nats.creds'));
    const nc = await connect({ servers: sys.nats.url, authenticator: creds.authenticator, inboxPrefix: creds.inboxPrefix, reconnect: false });
    const errors: Status[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === Events.Error) errors.push(s);
    })();
    nc.publish(`nco.dev.${b.host_id}.report`, new TextEncoder().encode('{}'));
    nc.publish(`nco.dev.${a.host_id}.report`, new TextEncoder().encode('{}'));
    await pollUntil(() => errors.find((e) => e.data === ErrorCode.PermissionsViolation && e.permissionContext?.subject === `nco.dev.${b.host_id}.report`), 'a permissions violation');
    expect(errors.filter((e) => e.permissionContext?.subject === `nco.dev.${a.host_id}.report`)).toEqual([]);
    await nc.close();
  });

  it('a restarted DCA connects with its saved creds', async () => {
    const mac = macs[1];
    await stopDca(mac);
    const since = new Date();
    startDca(mac);
    await logged(mac, /"bootstrap":false/);
    expect(dcas.get(mac)!.lines.some((l) => /NATS creds received/.test(l))).toBe(false);
    await reportedSince(mac, since);
  });

  it('nco devices revoke disconnects the device and keeps it out; the other device keeps working', async () => {
    const [victim, other] = macs;
    const creds = readFileSync(join(stateDir(victim), 'nats.creds'));
    const spy: NatsConnection = await connect({ servers: sys.nats.url, authenticator: credsAuthenticator(creds), reconnect: false });
    // A revocation covers JWTs issued up to its second.
    await new Promise((r) => setTimeout(r, 1_100));
    const from = dcas.get(victim)!.lines.length;
    const { stdout } = await nco('devices', 'revoke', victim);
    expect(stdout).toMatch(/is revoked/);
    await expect(spy.closed()).resolves.toBeDefined();
    await expect(connect({ servers: sys.nats.url, authenticator: credsAuthenticator(creds), reconnect: false })).rejects.toThrow(/authorization/i);
    await logged(victim, /disconnected from NATS/, from);
    // Reports sent before the cut may still be applied: then nothing more arrives from it.
    await new Promise((r) => setTimeout(r, 1_000));
    const cut = new Date();
    const last = (await hostOf(victim)).last_report_at;
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await hostOf(victim)).last_report_at).toEqual(last);
    await reportedSince(other, cut);
    // No new JWT for it either: its check-in asking for one is refused.
    const keys = importDeviceKeys(JSON.parse(readFileSync(join(stateDir(victim), 'identity.json'), 'utf8')));
    await expect(
      sys.bus.request(Subjects.device.checkin, undefined, { mac: victim, release: RELEASE, identity: { signKey: keys.signPublic, encKey: keys.encPublic }, natsCreds: true }, { sign: (env, s) => void signDeviceEnvelope(env, s, keys) }),
    ).rejects.toMatchObject({ message: expect.stringContaining('was revoked by an operator') });
    // Later pushes keep it: the CIB's revoked devices are the list.
    expect(Object.keys(JSON.parse(readFileSync(join(dir, 'nats-auth.json'), 'utf8')).revocations)).toEqual([expect.stringMatching(/^U[A-Z2-7]{55}$/)]);
  });
});
