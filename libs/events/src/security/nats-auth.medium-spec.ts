import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, credsAuthenticator, ErrorCode, Events, NatsConnection, Status, Subscription } from 'nats';
import { connectNats } from '../nats/connect';
import { ensureStreams } from '../nats/jetstream';
import { silentLogger } from '../nats/logger';
import { Streams } from '../subjects';
import { NatsServerHandle, pollUntil, startNatsServer } from '../testing';
import { generateDeviceKeys } from './device-keys';
import { natsUserKeyOfDevice, natsUserSeedOfDevice } from './device-nkey';
import { credsText, issueDeviceJwt, userIssuer } from './nats-auth';
import { initNatsAuthDir, issueDeviceInDir, loadNatsAuth, revokeInDir } from './nats-auth-dir';
import { deviceInboxPrefix } from './nats-permissions';

// The NATS permissions of docs/security.md against a real nats-server (v2.9, decentralized JWT
// auth, full resolver) started with the auth block `npm run nats-auth -- init` writes.
const NATS_BIN = process.env.NATS_SERVER_BIN || '/usr/sbin/nats-server';
const te = new TextEncoder();
const td = new TextDecoder();

describe('NATS permissions (decentralized JWT auth)', () => {
  let dir: string;
  let server: NatsServerHandle;
  const open: NatsConnection[] = [];
  const errorsOf = new Map<NatsConnection, Status[]>();

  async function connectAs(creds: string, opts: { inboxPrefix?: string; reconnect?: boolean } = {}): Promise<NatsConnection> {
    const nc = await connect({
      servers: server.url,
      authenticator: credsAuthenticator(readFileSync(creds)),
      inboxPrefix: opts.inboxPrefix,
      reconnect: opts.reconnect ?? false,
      timeout: 3_000,
    });
    open.push(nc);
    const errors: Status[] = [];
    errorsOf.set(nc, errors);
    void (async () => {
      for await (const s of nc.status()) if (s.type === Events.Error) errors.push(s);
    })();
    return nc;
  }

  const violation = (nc: NatsConnection, operation: 'publish' | 'subscription', subject: string) =>
    pollUntil(
      () => errorsOf.get(nc)!.find((e) => e.data === ErrorCode.PermissionsViolation && e.permissionContext?.operation === operation && e.permissionContext?.subject === subject),
      `a ${operation} permissions violation on ${subject}`,
      5_000,
    );

  const nextMessage = async (sub: Subscription, timeoutMs = 3_000) => {
    const timer = setTimeout(() => sub.unsubscribe(), timeoutMs);
    try {
      for await (const m of sub) return m;
    } finally {
      clearTimeout(timer);
    }
    throw new Error(`no message on ${sub.getSubject()} within ${timeoutMs} ms`);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'nco-nats-auth-'));
    await initNatsAuthDir(dir);
    await issueDeviceInDir(dir, 1);
    await issueDeviceInDir(dir, 2);
    // nats-server resolves `include` next to the including file: the harness's config gets the text.
    server = await startNatsServer({ config: readFileSync(join(dir, 'auth.conf'), 'utf8') });
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((nc) => (nc.isClosed() ? undefined : nc.close())));
  });

  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('deploy/nats/auth/nats.conf with a generated auth.conf parses (nats-server -t), and not without it', async () => {
    const deploy = join(__dirname, '../../../../deploy/nats');
    const copy = join(dir, 'deploy');
    mkdirSync(join(copy, 'auth'), { recursive: true });
    copyFileSync(join(deploy, 'nats.conf'), join(copy, 'nats.conf'));
    copyFileSync(join(deploy, 'auth', 'nats.conf'), join(copy, 'auth', 'nats.conf'));
    const test = () => {
      const r = spawnSync(NATS_BIN, ['-t', '-c', join(copy, 'auth', 'nats.conf')], { encoding: 'utf8' });
      return { status: r.status, said: `${r.stdout}${r.stderr}` };
    };
    expect(test()).toEqual({ status: 1, said: expect.stringMatching(/auth\.conf: no such file/) });
    await initNatsAuthDir(join(copy, 'auth'), { resolverDir: join(copy, 'jwt') });
    expect(test()).toEqual({ status: 0, said: expect.stringMatching(/configuration file .* is valid/) });
  });

  it('without creds nobody gets in', async () => {
    await expect(connect({ servers: server.url, reconnect: false, timeout: 3_000 })).rejects.toThrow(/authorization/i);
  });

  it('a device publishes its report, hears its commands and answers a service', async () => {
    const service = await connectAs(join(dir, 'creds', 'services.creds'));
    const a = await connectAs(join(dir, 'devices', '1.creds'), { inboxPrefix: deviceInboxPrefix(1) });

    const reports = service.subscribe('nco.dev.1.report');
    const commands = a.subscribe('nco.dev.1.cmd.>');
    void (async () => {
      for await (const m of commands) m.respond(te.encode(`done: ${td.decode(m.data)}`));
    })();
    await Promise.all([service.flush(), a.flush()]);

    a.publish('nco.dev.1.report', te.encode('report of 1'));
    expect(td.decode((await nextMessage(reports)).data)).toBe('report of 1');

    const reply = await service.request('nco.dev.1.cmd.install', te.encode('install x'), { timeout: 3_000 });
    expect(td.decode(reply.data)).toBe('done: install x');

    // The device's own requests (check-in) get their answer in its private inbox.
    const checkins = service.subscribe('nco.checkin');
    void (async () => {
      for await (const m of checkins) m.respond(te.encode(m.reply ?? ''));
    })();
    await service.flush();
    const answer = await a.request('nco.checkin', te.encode('hello'), { timeout: 3_000 });
    expect(td.decode(answer.data).startsWith(`${deviceInboxPrefix(1)}.`)).toBe(true);
    expect(errorsOf.get(a)).toEqual([]);
  });

  it('connectNats with NATS creds: a device gets the inbox its JWT allows; a bad file is refused clearly', async () => {
    const service = await connectAs(join(dir, 'creds', 'services.creds'));
    const checkins = service.subscribe('nco.checkin');
    void (async () => {
      for await (const m of checkins) m.respond(te.encode(m.reply ?? ''));
    })();
    await service.flush();
    const a = await connectNats({ servers: server.url, name: 'device-1', credsFile: join(dir, 'devices', '1.creds'), failFast: true }, silentLogger);
    open.push(a);
    expect(td.decode((await a.request('nco.checkin', te.encode('hi'), { timeout: 3_000 })).data)).toMatch(/^_INBOX_1\./);

    writeFileSync(join(dir, 'broken.creds'), 'not creds');
    await expect(connectNats({ servers: server.url, name: 'x', credsFile: join(dir, 'broken.creds'), failFast: true }, silentLogger)).rejects.toThrow(/broken\.creds: not a NATS creds file/);
    await expect(connectNats({ servers: server.url, name: 'x', credsFile: join(dir, 'missing.creds'), failFast: true }, silentLogger)).rejects.toThrow(/cannot read NATS creds file/);
  });

  it("a device's identity key is its NATS key: enrollment issues the JWT from the public key it stores", async () => {
    const identity = generateDeviceKeys();
    const jwt = await issueDeviceJwt(userIssuer(loadNatsAuth(dir)), 3, natsUserKeyOfDevice(identity.signPublic));
    writeFileSync(join(dir, 'identity-3.creds'), credsText(jwt, natsUserSeedOfDevice(identity.sign)));
    const d = await connectAs(join(dir, 'identity-3.creds'), { inboxPrefix: deviceInboxPrefix(3) });
    d.publish('nco.dev.3.report', te.encode('r'));
    d.publish('nco.dev.1.report', te.encode('r'));
    await violation(d, 'publish', 'nco.dev.1.report');
    expect(errorsOf.get(d)!.filter((e) => e.permissionContext?.subject === 'nco.dev.3.report')).toEqual([]);
    // Another device's identity with this JWT: the server's nonce check fails.
    writeFileSync(join(dir, 'stolen-3.creds'), credsText(jwt, natsUserSeedOfDevice(generateDeviceKeys().sign)));
    await expect(connectAs(join(dir, 'stolen-3.creds'))).rejects.toThrow(/authorization/i);
  });

  it('a device can neither publish nor subscribe as another device', async () => {
    const service = await connectAs(join(dir, 'creds', 'services.creds'));
    const a = await connectAs(join(dir, 'devices', '1.creds'), { inboxPrefix: deviceInboxPrefix(1) });
    const forged = service.subscribe('nco.dev.2.report');
    await service.flush();

    a.publish('nco.dev.2.report', te.encode('forged report'));
    await violation(a, 'publish', 'nco.dev.2.report');

    const stolen = a.subscribe('nco.dev.2.cmd.>');
    await violation(a, 'subscription', 'nco.dev.2.cmd.>');
    // Nothing forged arrived and the device hears nothing of host 2.
    await expect(nextMessage(forged, 1_000)).rejects.toThrow(/no message/);
    service.publish('nco.dev.2.cmd.install', te.encode('for host 2'));
    await service.flush();
    await expect(nextMessage(stolen, 500)).rejects.toThrow(/permissions violation/i);

    // Nor fake a command to itself, nor read the NCO's events or other inboxes.
    a.publish('nco.dev.1.cmd.install', te.encode('self-made'));
    await violation(a, 'publish', 'nco.dev.1.cmd.install');
    a.subscribe('_INBOX.>');
    await violation(a, 'subscription', '_INBOX.>');
  });

  it('the bootstrap user may only check in; the operator may command but not impersonate a device', async () => {
    const boot = await connectAs(join(dir, 'creds', 'bootstrap.creds'), { inboxPrefix: '_INBOX_enroll' });
    boot.publish('nco.dev.1.report', te.encode('x'));
    await violation(boot, 'publish', 'nco.dev.1.report');

    const op = await connectAs(join(dir, 'creds', 'operator.creds'));
    op.publish('nco.cmd.hosts.list', te.encode('{}'));
    op.publish('nco.dev.1.cmd.install', te.encode('x'));
    await violation(op, 'publish', 'nco.dev.1.cmd.install');
    expect(errorsOf.get(op)!.filter((e) => e.permissionContext?.subject === 'nco.cmd.hosts.list')).toEqual([]);
  });

  it('services run JetStream; an operator follows the streams like `nco watch` but cannot change them', async () => {
    const service = await connectAs(join(dir, 'creds', 'services.creds'));
    await ensureStreams(service, silentLogger);
    const a = await connectAs(join(dir, 'devices', '1.creds'), { inboxPrefix: deviceInboxPrefix(1) });
    a.publish('nco.dev.1.report', te.encode('stored report'));
    await a.flush();

    const op = await connectAs(join(dir, 'creds', 'operator.creds'));
    // An ordered consumer, as `nco watch --host 1` makes (from the stream's first message).
    const consumer = await op.jetstream().consumers.get(Streams.reports.name, { filterSubjects: 'nco.dev.1.report' });
    const messages = await consumer.consume();
    for await (const m of messages) {
      expect(td.decode(m.data)).toBe('stored report');
      break;
    }
    messages.stop();
    const jsm = await op.jetstreamManager();
    // A denied API request gets no answer: the operator's request times out, the stream stays.
    await expect(jsm.streams.delete(Streams.reports.name)).rejects.toThrow(/timeout|permission/i);
    await violation(op, 'publish', `$JS.API.STREAM.DELETE.${Streams.reports.name}`);
    expect((await (await service.jetstreamManager()).streams.info(Streams.reports.name)).state.messages).toBeGreaterThanOrEqual(1);
  });

  it('a revoked device is disconnected and refused, the others keep working', async () => {
    const service = await connectAs(join(dir, 'creds', 'services.creds'));
    const a = await connectAs(join(dir, 'devices', '1.creds'), { inboxPrefix: deviceInboxPrefix(1) });
    const b = await connectAs(join(dir, 'devices', '2.creds'), { inboxPrefix: deviceInboxPrefix(2) });
    const aClosed = a.closed();

    // Revocations cover JWTs issued up to the revocation's second: a later second keeps the test honest.
    await new Promise((r) => setTimeout(r, 1_100));
    const { pushed } = await revokeInDir(dir, ['1'], { servers: server.url });
    expect(pushed).toBe(true);

    let timer: NodeJS.Timeout | undefined;
    const closedWith = await Promise.race([aClosed, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('device 1 was not disconnected')), 5_000)))]);
    clearTimeout(timer);
    expect(String(closedWith)).toMatch(/User Authentication Revoked/i);
    await expect(connectAs(join(dir, 'devices', '1.creds'))).rejects.toThrow(/authorization|revoked/i);

    const reports = service.subscribe('nco.dev.2.report');
    await service.flush();
    b.publish('nco.dev.2.report', te.encode('still here'));
    expect(td.decode((await nextMessage(reports)).data)).toBe('still here');

    // The update lives in the server's resolver directory: after a restart (whose configuration
    // still preloads the older account JWT) device 1 stays out and device 2 gets in.
    await Promise.all(open.splice(0).map((nc) => nc.close()));
    await server.restart();
    await expect(connectAs(join(dir, 'devices', '1.creds'))).rejects.toThrow(/authorization|revoked/i);
    await expect(connectAs(join(dir, 'devices', '2.creds'))).resolves.toBeDefined();
  });
});
