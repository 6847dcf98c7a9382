import { HostSummary, NcoError, Subjects } from '@nco/events';
import { DeliverPolicy } from 'nats';
import { hostRows, hostsQuery } from './commands/hosts.command';
import { watchPlan } from './commands/watch.command';
import { CliContext } from './context';
import { CliConnection, connectError } from './nats';
import { memoryOutput } from './output/io';
import { runCli } from './program';
import { CliSettings } from './settings';

const now = new Date('2026-11-24T12:00:00.000Z');
const host = (over: Partial<HostSummary> = {}): HostSummary => ({
  hostId: 1,
  mac: '02:00:00:00:00:01',
  release: '6.1.0-sim-amd64',
  ip: null,
  middleboxType: null,
  online: true,
  lastSeenAt: '2026-11-24T11:59:58.000Z',
  lastReportAt: '2026-11-24T11:59:57.000Z',
  moduleCount: 2,
  labels: {},
  ...over,
});

/** A CLI context whose NATS connection is a fake bus answering `request` with `reply`. */
function fakeContext(reply: (subject: string, body: unknown, opts: unknown) => unknown, env: NodeJS.ProcessEnv = {}) {
  const output = memoryOutput();
  const calls: Array<{ settings: CliSettings; subject: string; body: unknown; opts: unknown }> = [];
  let closed = 0;
  const ctx: CliContext = {
    output,
    env,
    now: () => now,
    onInterrupt: () => () => undefined,
    connect: async (settings) => {
      const conn = {
        url: settings.servers.join(','),
        nc: {},
        close: async () => void closed++,
        bus: {
          request: async (contract: { subject(p: unknown): string }, params: unknown, body: unknown, opts: unknown) => {
            const subject = contract.subject(params);
            calls.push({ settings, subject, body, opts });
            return reply(subject, body, opts);
          },
        },
      };
      return conn as unknown as CliConnection;
    },
  };
  return { ctx, output, calls, closed: () => closed };
}

describe('nco hosts', () => {
  it('prints a table of hosts with relative times', async () => {
    const f = fakeContext(() => ({
      total: 2,
      hosts: [host(), host({ hostId: 12, online: false, lastReportAt: null, moduleCount: 0, middleboxType: 'wireshark', labels: { rack: 'a1', zone: 'eu' } })],
    }));
    expect(await runCli(['hosts'], f.ctx)).toBe(0);
    expect(f.output.stdout.split('\n')).toEqual([
      'HOST ID  MAC                RELEASE          ONLINE  LAST REPORT  MODULES  MIDDLEBOX  LABELS',
      '1        02:00:00:00:00:01  6.1.0-sim-amd64  yes     3s ago       2        -          -',
      '12       02:00:00:00:00:01  6.1.0-sim-amd64  no      never        0        wireshark  rack=a1,zone=eu',
      '',
    ]);
    expect(f.output.stderr).toBe('');
    expect(f.calls).toEqual([
      { settings: expect.objectContaining({ servers: ['nats://127.0.0.1:4222'] }), subject: Subjects.cmd.hostsList.subject(), body: { limit: 1_000 }, opts: { timeoutMs: 10_000 } },
    ]);
    expect(f.closed()).toBe(1);
  });

  it('prints exactly the reply hosts with --json', async () => {
    const hosts = [host(), host({ hostId: 2 })];
    const f = fakeContext(() => ({ total: 2, hosts }));
    expect(await runCli(['hosts', '--json'], f.ctx)).toBe(0);
    expect(JSON.parse(f.output.stdout)).toEqual(hosts);
  });

  it('sends the filters, --nats and --timeout', async () => {
    const f = fakeContext(() => ({ total: 5, hosts: [host()] }), { NATS_URL: 'nats://env:4222', NATS_TOKEN: 't' });
    expect(await runCli(['--nats', 'nats://a:1,nats://b:2', 'hosts', '--offline', '--label', 'rack=a1', '-l', 'zone=eu', '--limit', '1', '--timeout', '250'], f.ctx)).toBe(0);
    expect(f.calls[0].body).toEqual({ online: false, labels: { rack: 'a1', zone: 'eu' }, limit: 1 });
    expect(f.calls[0].opts).toEqual({ timeoutMs: 250 });
    expect(f.calls[0].settings).toMatchObject({ servers: ['nats://a:1', 'nats://b:2'], token: 't', timeoutMs: 250 });
    expect(f.output.stderr).toBe('showing 1 of 5 hosts (--limit to see more)\n');
  });

  it('says so on stderr when no host matches', async () => {
    const f = fakeContext(() => ({ total: 0, hosts: [] }));
    expect(await runCli(['hosts', '--online'], f.ctx)).toBe(0);
    expect(f.output.stdout).toBe('');
    expect(f.output.stderr).toBe('no hosts match\n');
  });

  it('turns an NCO error into one line with its code and exit 1', async () => {
    const f = fakeContext(() => {
      throw new NcoError('invalid_message', 'invalid nco.cmd.hosts.list body: limit: too big');
    });
    expect(await runCli(['hosts'], f.ctx)).toBe(1);
    expect(f.output.stderr).toBe('nco: invalid_message: invalid nco.cmd.hosts.list body: limit: too big\n');
    expect(f.closed()).toBe(1);
  });

  it('names the service to start when nobody answers, and --timeout when it is slow', async () => {
    const none = fakeContext(() => {
      throw new NcoError('unavailable', 'no service is answering on nco.cmd.hosts.list');
    });
    expect(await runCli(['hosts'], none.ctx)).toBe(1);
    expect(none.output.stderr).toBe(
      'nco: unavailable: no service is answering on nco.cmd.hosts.list at nats://127.0.0.1:4222: is the orchestrator running? (npm start, see README)\n',
    );
    const slow = fakeContext(() => {
      throw new NcoError('timeout', 'no answer on nco.cmd.hosts.list in time');
    });
    expect(await runCli(['hosts', '--timeout', '50'], slow.ctx)).toBe(1);
    expect(slow.output.stderr).toBe('nco: timeout: the orchestrator did not answer on nco.cmd.hosts.list within 50 ms (--timeout <ms> to wait longer)\n');
  });

  it('explains an unreachable NATS in one line', async () => {
    const f = fakeContext(() => ({}));
    f.ctx.connect = async (s) => {
      throw connectError(Object.assign(new Error('CONNECTION_REFUSED'), { code: 'CONNECTION_REFUSED' }), s.servers.join(','));
    };
    expect(await runCli(['hosts', '--nats', 'nats://127.0.0.1:1'], f.ctx)).toBe(1);
    expect(f.output.stderr).toBe('nco: cannot reach NATS at nats://127.0.0.1:1: start the system (see README) or set NATS_URL\n');
    expect(connectError({ code: 'AUTHORIZATION_VIOLATION' }, 'nats://x:1').message).toMatch(/refused the credentials/);
  });

  it('builds rows and queries without a connection', () => {
    expect(hostRows([host({ labels: { a: 'b' } })], now)[0]).toEqual(['1', '02:00:00:00:00:01', '6.1.0-sim-amd64', 'yes', '3s ago', '2', '-', 'a=b']);
    expect(hostsQuery({ online: true })).toEqual({ online: true, limit: 1_000 });
  });
});

describe('usage errors', () => {
  it.each([
    [['hosts', '--bogus'], /error: unknown option '--bogus'\n\(run nco hosts --help for usage\)/],
    [['hosts', '--online', '--offline'], /option '--online' cannot be used with option '--offline'/],
    [['hosts', '--label', 'rack'], /argument 'rack' is invalid\. expected key=value/],
    [['hosts', '--limit', '0'], /argument '0' is invalid/],
    [['hosts', '--label', 'a=1', '--label', 'a=2'], /^nco: --label: a is given twice with different values\n$/],
    [['watch', '--since', 'yesterday'], /expected a duration like 30s, 5m, 1h or 2d/],
    [['watch', '--since', '5m', '--all'], /cannot be used with option '--all'/],
    [['watch', '--count', 'x'], /argument 'x' is invalid/],
    [['watch', '--host', '0'], /argument '0' is invalid/],
    [['--timeout', 'soon', 'hosts'], /argument 'soon' is invalid/],
    [['--nats', 'http://x', 'hosts'], /^nco: invalid configuration: --nats: expected nats:\/\/host:port/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [[], /Usage: nco/],
  ])('nco %j exits 2', async (argv, message) => {
    const f = fakeContext(() => ({ total: 0, hosts: [] }));
    expect(await runCli(argv as string[], f.ctx)).toBe(2);
    expect(f.output.stderr).toMatch(message as RegExp);
    expect(f.output.stdout).toBe('');
    expect(f.calls).toHaveLength(0);
  });

  it('refuses a bad NATS_URL from the environment by name', async () => {
    const f = fakeContext(() => ({}), { NATS_URL: 'localhost:4222' });
    expect(await runCli(['hosts'], f.ctx)).toBe(2);
    expect(f.output.stderr).toMatch(/^nco: invalid configuration: NATS_URL: expected nats:\/\/host:port.*\(got "localhost:4222"\)\n$/);
  });

  it('prints help for every command on stdout with exit 0', async () => {
    for (const argv of [['--help'], ['hosts', '--help'], ['watch', '--help'], ['help', 'watch']]) {
      const f = fakeContext(() => ({}));
      expect(await runCli(argv, f.ctx)).toBe(0);
      expect(f.output.stdout).toMatch(/^Usage: nco/);
    }
  });
});

describe('watchPlan', () => {
  it('follows both streams, new messages only, by default', () => {
    const plan = watchPlan({}, now);
    expect(plan.streams.map((s) => [s.name, s.consumer])).toEqual([
      ['NCO_REPORTS', { deliver_policy: DeliverPolicy.New }],
      ['NCO_EVENTS', { deliver_policy: DeliverPolicy.New }],
    ]);
    expect(plan.from).toBe('new messages');
  });

  it('replays from a start time or from the beginning, and filters reports by host on the server', () => {
    const since = watchPlan({ reports: true, since: 300_000, host: 42 }, now);
    expect(since.streams).toEqual([{ stream: 'reports', name: 'NCO_REPORTS', consumer: { opt_start_time: '2026-11-24T11:55:00.000Z', filterSubjects: 'nco.dev.42.report' } }]);
    expect(since.hostId).toBe(42);
    const all = watchPlan({ events: true, all: true, host: 42 }, now);
    expect(all.streams).toEqual([{ stream: 'events', name: 'NCO_EVENTS', consumer: {} }]);
    expect(watchPlan({ reports: true, events: true }, now).streams).toHaveLength(2);
  });
});
