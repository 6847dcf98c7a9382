import { Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { TestSystem } from '../support/system';

const RELEASE = process.env.KBUILD_TEST_RELEASE || '6.1.0-56-amd64';
const PROGRAMS = ['orchestrator', 'construct-svc', 'deploy-svc', 'revoke-svc', 'monitor-svc', 'security-svc', 'dashboard'];

/** One sample of a Prometheus text exposition: the value of `name` whose labels include `labels`. */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

/**
 * Each service as its own process (as in production: one process, one registry), started from
 * dist/ on a free port; after a deploy to simulated DCAs, every service's /metrics shows the
 * fleet metrics with the values that deploy produced.
 */
describe('metrics: every service exposes Prometheus metrics with real values', () => {
  const sys = new TestSystem({ reportIntervalMs: 500 });
  const children: ChildProcess[] = [];
  const ports = new Map<string, number>();
  const scrape = async (name: string) => {
    const res = await fetch(`http://127.0.0.1:${ports.get(name)}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    return res.text();
  };

  function startProgram(name: string): Promise<void> {
    const env = { ...process.env, ...sys.env, HTTP_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'info', LOG_FORMAT: 'json', CHALLENGE_WINDOW_S: '1', CHALLENGE_SWEEP_MS: '300' };
    const child = spawn(process.execPath, [`dist/apps/${name}/src/main.js`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    const stderr: string[] = [];
    child.stderr!.on('data', (d) => stderr.push(String(d)));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s: ${stderr.join('').slice(-500)}`)), 60_000);
      child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${stderr.join('').slice(-500)}`)));
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = line.match(/"port":(\d+).*"msg":"[\w-]+ started"/);
        if (m) {
          clearTimeout(timer);
          ports.set(name, Number(m[1]));
          resolve();
        }
      });
    });
  }

  beforeAll(async () => {
    await sys.start([]);
    await Promise.all(PROGRAMS.map(startProgram));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(
      children.filter((c) => c.exitCode === null).map(async (c) => {
        c.kill('SIGTERM');
        await once(c, 'exit');
      }),
    );
    await sys.stop();
  });

  it('shows builds, queue depth, device commands, operations, reports, hosts, challenges and NATS reconnects after a deploy', async () => {
    const fleet = await sys.fleet(2, { release: RELEASE, macPrefix: '02:ae:00' });
    const hostIds = fleet.devices.map((d) => d.hostId!);
    const { operationId } = await sys.bus.request(Subjects.cmd.deploy, undefined, { module: 'dns-tag', target: { hostIds }, applyNow: true, params: {}, toolchain: 'stamp' });
    const op = await pollUntil(async () => {
      const o = await sys.bus.request(Subjects.cmd.operationGet, undefined, { operationId });
      return o.pending === 0 ? o : null;
    }, 'the deploy to settle', 120_000, 200);
    expect(op).toMatchObject({ status: 'succeeded', succeeded: 2 });

    const construct = await scrape('construct-svc');
    expect(sample(construct, 'nco_builds_total', { outcome: 'succeeded', service: 'construct-svc' })).toBe(1);
    expect(sample(construct, 'nco_build_hosts_total', { outcome: 'succeeded' })).toBe(2);
    expect(sample(construct, 'nco_build_duration_seconds_count', { outcome: 'succeeded', compiled: 'true' })).toBe(1);
    expect(sample(construct, 'nco_build_duration_seconds_sum', { outcome: 'succeeded' })).toBeGreaterThan(0);
    expect(sample(construct, 'nco_build_queue_jobs', { state: 'waiting' })).toBe(0);
    expect(sample(construct, 'nco_build_queue_jobs', { state: 'completed' })).toBe(1);
    // Counted once, by the service that settled it (monitor-svc, below), not by construct-svc too.
    expect(sample(construct, 'nco_operations_total', { kind: 'deploy' })).toBeUndefined();

    const deploy = await scrape('deploy-svc');
    expect(sample(deploy, 'nco_device_commands_total', { kind: 'install', outcome: 'done', service: 'deploy-svc' })).toBe(2);

    // A deploy settles when the devices' reports confirm the installs: monitor-svc counts it.
    const monitor = await pollUntil(async () => {
      const text = await scrape('monitor-svc');
      return sample(text, 'nco_operations_total', { kind: 'deploy', outcome: 'succeeded' }) === 1 && sample(text, 'nco_monitor_hosts', { state: 'online' }) === 2 ? text : null;
    }, 'monitor-svc metrics after the deploy', 10_000, 200);
    expect(sample(monitor, 'nco_monitor_reports_total', { outcome: 'applied' })).toBeGreaterThanOrEqual(4);
    expect(sample(monitor, 'nco_monitor_hosts', { state: 'offline' })).toBe(0);
    expect(sample(monitor, 'nco_monitor_findings_total', { kind: 'installed' })).toBe(2);

    // security-svc challenges the installed modules once their window (1 s here) has passed.
    const security = await pollUntil(async () => {
      const text = await scrape('security-svc');
      return (sample(text, 'nco_security_challenges_total', { outcome: 'passed' }) ?? 0) >= 2 ? text : null;
    }, 'challenges to pass', 30_000, 300);
    expect(sample(security, 'nco_security_challenges_total', { outcome: 'failed' }) ?? 0).toBe(0);

    const dashboard = await scrape('dashboard');
    expect(sample(dashboard, 'nco_dashboard_stream_messages_total', { stream: 'reports' })).toBeGreaterThan(0);
    expect(sample(dashboard, 'nco_dashboard_stream_messages_total', { stream: 'events' })).toBeGreaterThan(0);

    for (const name of PROGRAMS) {
      const text = await scrape(name);
      expect(sample(text, 'nco_nats_reconnects_total', { service: name })).toBe(0);
      expect(sample(text, 'process_resident_memory_bytes', { service: name })).toBeGreaterThan(0);
    }
  });

  it('counts a failed build and the operation it failed', async () => {
    const fleet = await sys.fleet(1, { release: RELEASE, macPrefix: '02:af:00' });
    const { operationId } = await sys.bus.request(Subjects.cmd.build, undefined, {
      module: 'broken', target: { hostIds: [fleet.devices[0].hostId!] }, install: false, applyNow: true, params: {}, toolchain: 'stamp',
    });
    await pollUntil(async () => (await sys.bus.request(Subjects.cmd.operationGet, undefined, { operationId })).pending === 0, 'the build to fail', 120_000, 200);
    const construct = await pollUntil(async () => {
      const text = await scrape('construct-svc');
      return sample(text, 'nco_operations_total', { kind: 'build', outcome: 'failed' }) === 1 ? text : null;
    }, 'the failed build to be counted', 10_000, 200);
    expect(sample(construct, 'nco_builds_total', { outcome: 'failed' })).toBe(1);
    expect(sample(construct, 'nco_build_hosts_total', { outcome: 'failed' })).toBe(1);
    expect(sample(construct, 'nco_build_queue_jobs', { state: 'failed' })).toBe(1);
  });

  it('exposes every metric the Grafana dashboard queries', async () => {
    const grafana = readFileSync('deploy/grafana/nco-dashboard.json', 'utf8');
    const queried = new Set([...grafana.matchAll(/\b((?:nco|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1].replace(/_(bucket|sum|count)$/, '')));
    const exposed = new Set<string>();
    for (const name of PROGRAMS) for (const m of (await scrape(name)).matchAll(/^# TYPE (\S+) /gm)) exposed.add(m[1]);
    expect([...queried].filter((n) => !exposed.has(n))).toEqual([]);
    expect(queried.size).toBeGreaterThan(20);
    // A dashboard Grafana imports: unique panel ids, panels inside the 24-column grid, every query on the chosen data source.
    const board = JSON.parse(grafana) as { uid: string; panels: Array<{ id: number; type: string; gridPos: { x: number; w: number }; targets?: Array<{ expr: string; datasource: { uid: string } }> }> };
    expect(board.uid).toBe('nco-fleet');
    expect(new Set(board.panels.map((p) => p.id)).size).toBe(board.panels.length);
    expect(board.panels.filter((p) => p.gridPos.x + p.gridPos.w > 24)).toEqual([]);
    const targets = board.panels.flatMap((p) => p.targets ?? []);
    expect(targets.filter((t) => t.datasource.uid !== '${datasource}' || !t.expr)).toEqual([]);
  });
});
