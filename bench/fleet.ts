/**
 * `npm run bench -- fleet [--hosts N]` (default: 250, 1000 and 10000 in turn)
 *
 * Deploys one module to a fleet so that every host gets its own module (own id, own key,
 * stamped), through the real services running as separate processes (as in production), a
 * fleet simulator process with N virtual DCAs, a private nats-server and a fresh CIB; measured
 * from the deploy command until the CIB shows every deployment confirmed by a device report.
 * Also measures the resident memory of one real DCA process and of the fleet simulator.
 * Device commands are signed and checked (docs/security.md); `--insecure` runs without, to compare.
 */
import { createWriteStream } from 'node:fs';
import 'reflect-metadata';
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { createTestDatabase, TestDatabase } from '@nco/cib/testing';
import { connectNats, generateReportKey, generateSigningKey, NatsBus, silentLogger, Subjects } from '@nco/events';
import { startNatsServer } from '@nco/events/testing';
import { headersRelease } from './_support';

const SERVICES = ['orchestrator', 'construct-svc', 'deploy-svc', 'revoke-svc', 'monitor-svc', 'security-svc'];
const TARGETS: Record<number, number> = { 250: 300, 10_000: 10_000 };
const DCA_RSS_TARGET_MB = 80;
const FLEET_RSS_TARGET_MB = 2048;

const log = (line: string) => process.stderr.write(`${line}\n`);
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

function sizes(): number[] {
  const at = process.argv.indexOf('--hosts');
  if (at < 0) return [250, 1000, 10_000];
  const v = Number(process.argv[at + 1]);
  if (!Number.isInteger(v) || v < 1 || v > 60_000) throw new Error('--hosts expects an integer 1..60000');
  return [v];
}


/** Settings of the services (signing key) and of the DCAs (trusted key), or unsigned with --insecure. */
function securityEnv(): { nco: Record<string, string>; dca: Record<string, string> } {
  const token = randomBytes(18).toString('base64url');
  // --insecure: unsigned commands, fleet devices without identities (artifacts in clear, reports unsigned);
  // the one real DCA still enrolls (it always has an identity), so the token stays.
  if (process.argv.includes('--insecure')) return { nco: { NCO_ENROLL_TOKEN: token }, dca: { DCA_ALLOW_UNSIGNED: 'true', FLEET_IDENTITY: 'off', DCA_ENROLL_TOKEN: token } };
  const key = generateSigningKey('bench-1');
  // Signed commands, device identities enrolled with a bootstrap token, sealed artifacts, MAC'ed reports.
  return {
    nco: { NCO_SIGNING_KEY: key.privateSpec, NCO_REPORT_KEY: generateReportKey('bench-r1').privateSpec, NCO_ENROLL_TOKEN: token },
    dca: { DCA_TRUSTED_KEYS: key.publicSpec, DCA_ENROLL_TOKEN: token, FLEET_IDENTITY_SEED: randomBytes(32).toString('base64') },
  };
}
const SECURITY = securityEnv();

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

/** CPU time a process has used so far (user + system), from /proc (clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Starts a built entry point and resolves when it logs `ready` (a message it prints once started). */
function start(name: string, script: string, env: Record<string, string>, ready: RegExp): Promise<ChildProcess> {
  // BENCH_CPU_PROF=<dir>: every child writes a V8 CPU profile there when it exits (node --cpu-prof).
  const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  const child = spawn(process.execPath, [...prof, script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
    // BENCH_LOG_DIR=<dir>: every child's JSON log lines are kept in <dir>/<name>.log.
    const keep = process.env.BENCH_LOG_DIR ? createWriteStream(`${process.env.BENCH_LOG_DIR}/${name}.log`) : undefined;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep?.write(`${line}\n`);
      if (ready.test(line)) {
        clearTimeout(timer);
        resolve(child);
      }
      if (/"level":(50|60)/.test(line)) log(`[${name}] ${line.slice(0, 400)}`);
    });
    createInterface({ input: child.stderr! }).on('line', (line) => log(`[${name}] ${line.slice(0, 400)}`));
  });
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null) return resolve();
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
      setTimeout(() => c.kill('SIGKILL'), 15_000).unref();
    })),
  );
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | null | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

interface RunFigures {
  hosts: number;
  totalMs: number;
  hostsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  targetMs: number | null;
  fleetRssMb: number;
  /** p50 of each stage, ms after the command: built (install queued), device answered, report confirmed. */
  stagesP50Ms: { built: number; answered: number; confirmed: number };
  /** CPU each process used during the measured deploy: what bounds a run on a small machine. */
  cpuMs: Record<string, number>;
}

async function run(hosts: number, release: string): Promise<RunFigures> {
  const nats = await startNatsServer({ config: 'max_payload: 8MB' });
  const db: TestDatabase = await createTestDatabase('nco_bench');
  const children: ChildProcess[] = [];
  const env = {
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    HTTP_PORT: '0',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'info',
    LOG_FORMAT: 'json',
    NCO_KEK: randomBytes(32).toString('base64'),
    REPORT_INTERVAL_MS: '5000',
    OFFLINE_AFTER_MS: '60000',
    DATABASE_POOL_SIZE: '10',
    ...SECURITY.nco,
  };
  const nc = await connectNats({ servers: nats.url, name: 'bench-fleet', failFast: true }, silentLogger);
  const bus = new NatsBus(nc, silentLogger);
  try {
    for (const s of SERVICES) children.push(await start(s, `dist/apps/${s}/src/main.js`, env, new RegExp(`"msg":"${s} started"`)));
    const fleet = await start('fleet', 'dist/apps/dca/src/fleet-main.js', { ...env, ...SECURITY.dca, FLEET_SIZE: String(hosts), FLEET_RELEASE: release }, /checked in/);
    children.push(fleet);
    await waitFor(`${hosts} hosts online`, 120_000, async () => {
      const [{ n }] = await db.ds.query(`SELECT count(*)::int AS n FROM hosts WHERE online`);
      return n >= hosts;
    });
    // One compile per flavor happens once, before the measured deploy (a build of one host).
    const [{ host_id: first }] = await db.ds.query(`SELECT min(host_id) AS host_id FROM hosts`);
    const warm = await bus.request(Subjects.cmd.build, undefined, { module: 'port-match', target: { hostIds: [first] }, install: false, applyNow: true, params: {}, toolchain: 'stamp' }, { timeoutMs: 60_000 });
    await waitFor('the warm-up compile', 120_000, async () => (await db.ds.query(`SELECT pending FROM operations WHERE id = $1`, [warm.operationId]))[0].pending === 0);
    const warmDns = await bus.request(Subjects.cmd.build, undefined, { module: 'dns-tag', target: { hostIds: [first] }, install: false, applyNow: true, params: {}, toolchain: 'stamp' }, { timeoutMs: 60_000 });
    await waitFor('the warm-up compile', 120_000, async () => (await db.ds.query(`SELECT pending FROM operations WHERE id = $1`, [warmDns.operationId]))[0].pending === 0);

    const names = [...SERVICES, 'fleet'];
    const cpuBefore = children.map((c) => cpuMs(c.pid!));
    const started = new Date();
    const t0 = performance.now();
    const { operationId, targetCount } = await bus.request(Subjects.cmd.deploy, undefined, { module: 'dns-tag', target: { all: true }, applyNow: true, params: {}, toolchain: 'stamp' }, { timeoutMs: 60_000 });
    if (targetCount !== hosts) throw new Error(`deploy targeted ${targetCount} hosts, expected ${hosts}`);
    await waitFor(`${hosts} deployments confirmed`, 300_000, async () => {
      const [op] = await db.ds.query(`SELECT pending, failed FROM operations WHERE id = $1`, [operationId]);
      if (op.failed) throw new Error(`${op.failed} deployments failed`);
      return op.pending === 0;
    });
    const totalMs = performance.now() - t0;
    const cpu = Object.fromEntries(children.map((c, i) => [names[i], cpuMs(c.pid!) - cpuBefore[i]]));
    const rows: Array<{ ms: number }> = await db.ds.query(
      `SELECT extract(epoch FROM (installed_at - $2::timestamptz)) * 1000 AS ms FROM deployments WHERE operation_id = $1 AND state IN ('installed','verified') ORDER BY 1`,
      [operationId, started],
    );
    if (rows.length !== hosts) throw new Error(`${rows.length} of ${hosts} deployments installed`);
    const lat = rows.map((r) => Number(r.ms));
    // Where the time goes: the pending install is written when the host's module is built and
    // settled when the device answers; the deployment is confirmed by the next report.
    const [stages] = await db.ds.query(
      `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (p.created_at - $2::timestamptz)) * 1000) AS built,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (p.updated_at - $2::timestamptz)) * 1000) AS answered,
              percentile_disc(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM (d.installed_at - $2::timestamptz)) * 1000) AS confirmed
       FROM pending_operations p JOIN deployments d ON d.host_id = p.host_id AND d.module_id = p.module_id
       WHERE p.operation_id = $1 AND p.kind = 'install'`,
      [operationId, started],
    );
    return {
      hosts,
      totalMs: Math.round(totalMs),
      hostsPerSec: Math.round((hosts / totalMs) * 1000),
      p50Ms: Math.round(percentile(lat, 50)),
      p99Ms: Math.round(percentile(lat, 99)),
      targetMs: TARGETS[hosts] ?? null,
      fleetRssMb: rssMb(fleet.pid!),
      cpuMs: cpu,
      stagesP50Ms: { built: Math.round(Number(stages.built)), answered: Math.round(Number(stages.answered)), confirmed: Math.round(Number(stages.confirmed)) },
    };
  } finally {
    await nc.close().catch(() => undefined);
    await stopAll(children);
    await db.drop().catch(() => undefined);
    await nats.close();
  }
}

/** One real DCA process (simulated driver) checked in against a running orchestrator. */
async function dcaRss(release: string): Promise<number> {
  const nats = await startNatsServer();
  const db = await createTestDatabase('nco_bench');
  const children: ChildProcess[] = [];
  try {
    const env = { DATABASE_URL: db.url, NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'info', REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379', ...SECURITY.nco };
    children.push(await start('orchestrator', 'dist/apps/orchestrator/src/main.js', env, /"msg":"orchestrator started"/));
    const dca = await start('dca', 'dist/apps/dca/src/main.js', {
      ...env, ...SECURITY.dca, DCA_MAC: '02:fe:00:00:00:01', DCA_RELEASE: release, DCA_STATE_DIR: `/tmp/nco-bench-dca-${process.pid}`,
    }, /checked in/);
    children.push(dca);
    await new Promise((r) => setTimeout(r, 3000));
    return rssMb(dca.pid!);
  } finally {
    await stopAll(children);
    await db.drop();
    await nats.close();
  }
}

async function main(): Promise<void> {
  const release = await headersRelease();
  const results: RunFigures[] = [];
  for (const n of sizes()) {
    log(`fleet bench: deploying dns-tag to ${n} simulated hosts${process.argv.includes('--insecure') ? ' (--insecure: commands unsigned)' : ''}…`);
    const r = await run(n, release);
    results.push(r);
    const target = r.targetMs === null ? '(no target)' : `(target <= ${r.targetMs} ms) ${r.totalMs <= r.targetMs ? 'ok' : 'MISSED'}`;
    process.stdout.write(`N=${n}: ${r.totalMs} ms total ${target}; ${r.hostsPerSec} hosts/s; command→confirmation p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms; fleet simulator RSS ${r.fleetRssMb} MB\n`);
    process.stdout.write(`  CPU used during the deploy: ${Object.entries(r.cpuMs).map(([k, v]) => `${k} ${v} ms`).join(', ')} (fleet simulator ${(r.cpuMs.fleet / n).toFixed(2)} ms per device)\n`);
    process.stdout.write(`  stages (p50 after the command): built ${r.stagesP50Ms.built} ms, device answered ${r.stagesP50Ms.answered} ms, confirmed by report ${r.stagesP50Ms.confirmed} ms\n`);
  }
  const dca = await dcaRss(release);
  process.stdout.write(`one real DCA process RSS: ${dca} MB (target <= ${DCA_RSS_TARGET_MB} MB) ${dca <= DCA_RSS_TARGET_MB ? 'ok' : 'MISSED'}\n`);
  const biggest = results[results.length - 1];
  process.stdout.write(`fleet simulator RSS at ${biggest.hosts} hosts: ${biggest.fleetRssMb} MB (target <= ${FLEET_RSS_TARGET_MB} MB) ${biggest.fleetRssMb <= FLEET_RSS_TARGET_MB ? 'ok' : 'MISSED'}\n`);
  process.stdout.write(`${JSON.stringify({ bench: 'fleet', runs: results, dcaRssMb: dca })}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`fleet bench failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
