import { ensureStreams, encode, HostSummary, makeEnvelope, NatsBus, Subjects, silentLogger, connectNats } from '@nco/events';
import { freePort, NatsServerHandle, pollUntil, startNatsServer } from '@nco/events/testing';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Subscription } from 'nats';

/*
 * The built `nco` as an operator runs it: a child process against a private nats-server (the
 * shared one may have a real orchestrator answering `nco.cmd.hosts.list`), with a fake responder
 * served from this test.
 */
const ROOT = join(__dirname, '../../..');
const MAIN = join(ROOT, 'dist/apps/cli/src/main.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let nats: NatsServerHandle;
let bus: NatsBus;
let responder: Subscription;
const requests: unknown[] = [];

const hosts: HostSummary[] = [
  {
    hostId: 7,
    mac: '02:00:00:00:00:07',
    release: '6.1.0-sim-amd64',
    ip: '10.0.0.7',
    middleboxType: null,
    online: true,
    lastSeenAt: new Date().toISOString(),
    lastReportAt: new Date(Date.now() - 4000).toISOString(),
    moduleCount: 3,
    labels: { rack: 'a1' },
  },
  {
    hostId: 8,
    mac: '02:00:00:00:00:08',
    release: '6.1.0-sim-amd64',
    ip: null,
    middleboxType: 'wireshark',
    online: false,
    lastSeenAt: null,
    lastReportAt: null,
    moduleCount: 0,
    labels: {},
  },
];

function spawnNco(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [MAIN, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', NATS_URL: nats.url, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function finish(child: ChildProcess, timeoutMs = 20_000): Promise<Run> & { stderrSoFar: () => string } {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nco did not exit within ${timeoutMs} ms; stdout: ${stdout}; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // let the pipes deliver what is left
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
  return Object.assign(done, { stderrSoFar: () => stderr });
}

const nco = (args: string[], env?: Record<string, string>) => finish(spawnNco(args, env));

beforeAll(async () => {
  if (!existsSync(MAIN)) execFileSync(process.execPath, ['tools/build.mjs'], { cwd: ROOT, stdio: 'inherit' });
  nats = await startNatsServer();
  // Reconnects (not failFast): one test restarts the server under a running `nco watch`.
  const nc = await connectNats({ servers: nats.url, name: 'cli-medium' }, silentLogger);
  await ensureStreams(nc, silentLogger);
  bus = new NatsBus(nc, silentLogger);
  responder = bus.serve(Subjects.cmd.hostsList, ({ env }) => {
    requests.push(env.body);
    const online = env.body.online;
    const list = hosts.filter((h) => online === undefined || h.online === online);
    return { hosts: list, total: list.length };
  });
  await nc.flush();
});

afterAll(async () => {
  await bus?.close();
  await nats?.close();
});

describe('nco (built, over NATS)', () => {
  it('hosts --json prints exactly the reply hosts', async () => {
    const run = await nco(['hosts', '--json']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(run.stdout)).toEqual(hosts);
  });

  it('hosts prints a table and passes the filters', async () => {
    requests.length = 0;
    // The fixture's report is a fixed time in the past: the age the CLI prints depends on when it ran.
    const agoBefore = Math.floor((Date.now() - Date.parse(hosts[0].lastReportAt!)) / 1000);
    const run = await nco(['hosts', '--online', '--label', 'rack=a1']);
    const agoAfter = Math.floor((Date.now() - Date.parse(hosts[0].lastReportAt!)) / 1000);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('HOST ID  MAC                RELEASE          ONLINE  LAST REPORT  MODULES  MIDDLEBOX  LABELS');
    const ages = Array.from({ length: agoAfter - agoBefore + 1 }, (_, i) => agoBefore + i).join('|');
    expect(lines[1]).toMatch(new RegExp(`^7 +02:00:00:00:00:07 +6\\.1\\.0-sim-amd64 +yes +(${ages})s ago +3 +- +rack=a1$`));
    expect(lines).toHaveLength(2);
    expect(requests).toEqual([{ online: true, labels: { rack: 'a1' }, limit: 1_000 }]);

    const all = await nco(['hosts']);
    expect(all.stdout).toMatch(/\n8 +02:00:00:00:00:08 +6\.1\.0-sim-amd64 +no +never +0 +wireshark +-\n$/);
  });

  it('watch --count 2 --json prints the next report and event as NDJSON, then exits 0', async () => {
    const child = spawnNco(['watch', '--count', '2', '--json']);
    const run = finish(child);
    await pollUntil(() => run.stderrSoFar().includes('watching NCO_REPORTS and NCO_EVENTS'), 'nco watch to start', 15_000);
    const kernel = { Installed: [{ ID: 3, Activated: 1, Count: 0, ts: 1_700_000_000 }], Deprecated: [], Revoked: [] };
    await bus.publishDurable(Subjects.device.report, { hostId: 42 }, { seq: 5, reason: 'interval', kernel }, { hostId: 42 });
    await bus.publishDurable(Subjects.evt.hostOnline, undefined, { hostId: 42, online: true, lastSeenAt: new Date().toISOString() });
    const result = await run;
    expect(result.code).toBe(0);
    const envelopes = result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(envelopes.map((e) => e.type).sort()).toEqual(['dca.report', 'host.online']);
    expect(envelopes.find((e) => e.type === 'dca.report')).toMatchObject({ v: 1, hostId: 42, body: { seq: 5, kernel } });
  });

  it('watch --all replays history, filters by host, and shows malformed messages', async () => {
    const js = bus.js;
    const kernel = { Installed: [], Deprecated: [{ ID: 9, Activated: 0, Count: 1, ts: 1 }], Revoked: [] };
    await bus.publishDurable(Subjects.device.report, { hostId: 77 }, { seq: 1, reason: 'checkin', kernel }, { hostId: 77 });
    await bus.publishDurable(Subjects.device.report, { hostId: 78 }, { seq: 1, reason: 'interval', kernel }, { hostId: 78 });
    await js.publish('nco.dev.77.report', new TextEncoder().encode('{"v":1,"type":"dca.report"'));
    await js.publish('nco.dev.77.report', encode(makeEnvelope('dca.report', { seq: 2 }, { hostId: 77 })));

    const run = await nco(['watch', '--reports', '--all', '--host', '77', '--count', '3']);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3}  report +host 77 +0 installed, 1 deprecated, 0 revoked, seq 1 \(checkin\)$/);
    expect(lines[1]).toMatch(/ malformed: message is not valid JSON \(nco\.dev\.77\.report, NCO_REPORTS #\d+\)$/);
    expect(lines[2]).toMatch(/ malformed: invalid dca\.report body: body\.reason: .*\(nco\.dev\.77\.report, NCO_REPORTS #\d+\)$/);
    expect(run.stderr).toMatch(/^watching NCO_REPORTS for host 77: all stored messages, then new ones \(Ctrl-C to stop\)\n$/);
  });

  it('watch stops cleanly on Ctrl-C', async () => {
    const child = spawnNco(['watch', '--events']);
    const run = finish(child);
    await pollUntil(() => run.stderrSoFar().includes('watching NCO_EVENTS'), 'nco watch to start', 15_000);
    child.kill('SIGINT');
    expect((await run).code).toBe(0);
  });

  it('watch keeps going across a NATS restart', async () => {
    const child = spawnNco(['watch', '--events', '--count', '1']);
    const run = finish(child, 60_000);
    await pollUntil(() => run.stderrSoFar().includes('watching NCO_EVENTS'), 'nco watch to start', 15_000);
    await nats.restart();
    await pollUntil(() => run.stderrSoFar().includes('reconnected to NATS'), 'nco watch to reconnect', 30_000);
    // The ordered consumer is recreated after the reconnect; publish until the watch has seen one.
    const body = { hostId: 5, online: false, lastSeenAt: null };
    await pollUntil(
      async () => {
        await bus.publishDurable(Subjects.evt.hostOffline, undefined, body).catch(() => undefined);
        return child.exitCode !== null;
      },
      'nco watch to see an event after the restart',
      30_000,
      500,
    );
    const result = await run;
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ host\.offline +host 5 +offline\n$/);
    expect(result.stderr).toContain('lost the connection to NATS');
  });

  it('refuses a bad flag with exit 2 and a pointer to the usage', async () => {
    const run = await nco(['hosts', '--onlin']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^error: unknown option '--onlin'\n\(Did you mean --online\?\)\n\(run nco hosts --help for usage\)\n$/);
  });

  it('explains an unreachable NATS in one line and exits 1', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const run = await nco(['hosts'], { NATS_URL: url });
    expect(run).toEqual({ code: 1, stdout: '', stderr: `nco: cannot reach NATS at ${url}: start the system (see README) or set NATS_URL\n` });
  });

  it('the workspace bin runs the same program', async () => {
    const out = execFileSync(process.execPath, [join(ROOT, 'apps/cli/bin/nco.js'), '--help'], { encoding: 'utf8' });
    expect(out).toMatch(/^Usage: nco \[options\] \[command\]/);
  });

  it('says which service to start when nobody answers, with exit 1', async () => {
    responder.unsubscribe();
    await bus.nc.flush();
    const run = await nco(['hosts']);
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `nco: unavailable: no service is answering on nco.cmd.hosts.list at ${nats.url}: is the orchestrator running? (npm start, see README)\n`,
    });
  });
});
