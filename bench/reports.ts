/**
 * `npm run bench -- reports [--hosts N] [--reports M] [--modules K] [--cold] [--batch-size B]`
 *
 * Reports reconciled into the CIB: a fresh database with N hosts of K installed modules each,
 * monitor-svc started in-process, then a burst of M reports (round-robin over the hosts, as DCAs
 * publish them: core NATS, flushed every 1,000) measured until the service has reconciled every
 * one of them, checked against the CIB. `--cold` starts the hosts offline, so each host's first
 * report also emits a host.online event. `--profile FILE` writes a CPU profile of the measured
 * window only (open it in Chrome DevTools).
 */
import 'reflect-metadata';
import { randomBytes, randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { createTestDatabase } from '@nco/cib/testing';
import { connectNats, encode, makeEnvelope, silentLogger, Streams, Subjects } from '@nco/events';
import { createService } from '@nco/runtime';
import { register } from 'prom-client';
import { monitor } from '../apps/monitor-svc/src/app';
import { ReconcileService } from '../apps/monitor-svc/src/reports/reconcile.service';
import { option } from './_support';

const TARGET_PER_SEC = 10_000;


const percentile = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : 0);
const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

async function counterTotal(name: string, outcomes: string[]): Promise<number> {
  const metric = register.getSingleMetric(name);
  if (!metric) return 0;
  const { values } = await metric.get();
  return values.filter((v) => outcomes.includes(String(v.labels.outcome))).reduce((s, v) => s + v.value, 0);
}

async function main(): Promise<void> {
  const hosts = option('hosts', 10_000);
  const reports = option('reports', 50_000);
  const modules = option('modules', 3);
  const batchSize = option('batch-size', 1000);
  const cold = process.argv.includes('--cold');
  const profileAt = process.argv.indexOf('--profile');
  const profileFile = profileAt >= 0 ? process.argv[profileAt + 1] : undefined;
  const natsUrl = process.env.NATS_URL || 'nats://127.0.0.1:4222';
  const consumer = `bench-reports-${randomBytes(4).toString('hex')}`;
  // A random block of host ids: reports other processes publish on the shared stream never match.
  const base = 100_000_000 + randomInt(0, 1_000_000_000);
  const log = (line: string) => process.stderr.write(`${line}\n`);

  log(`reports bench: ${hosts} hosts × ${modules} modules, ${reports} reports${cold ? ', hosts start offline' : ''}`);
  const db = await createTestDatabase('nco_bench');
  const nc = await connectNats({ servers: natsUrl, name: 'bench-reports', failFast: true }, silentLogger);
  let svc: Awaited<ReturnType<typeof createService>> | undefined;
  try {
    const seedStart = performance.now();
    await db.ds.query(
      `INSERT INTO hosts (host_id, mac, release, online, last_seen_at)
       SELECT $1::int + i, regexp_replace(lpad(to_hex($1::int + i), 8, '0'), '(..)(..)(..)(..)', '02:00:\\1:\\2:\\3:\\4'),
              '6.1.0-27-amd64', $3, CASE WHEN $3 THEN now() END
       FROM generate_series(0, $2::int - 1) AS i`,
      [base, hosts, !cold],
    );
    await db.ds.query(
      `INSERT INTO deployments (host_id, module_id, module_name, state, priority, installed_at)
       SELECT $1::int + i, m, 'mod' || m, 'installed', m, now()
       FROM generate_series(0, $2::int - 1) AS i, generate_series(1, $3::int) AS m`,
      [base, hosts, modules],
    );
    await db.ds.query('ANALYZE');
    log(`  seeded in ${round((performance.now() - seedStart) / 1000, 2)} s`);

    svc = await createService(monitor, {
      DATABASE_URL: db.url,
      NATS_URL: natsUrl,
      HTTP_PORT: '0',
      LOG_LEVEL: process.env.LOG_LEVEL || 'error', // service logs share stdout with the JSON line
      REPORT_CONSUMER: consumer,
      REPORT_BATCH_SIZE: String(batchSize),
      ...(process.env.REPORT_BATCH_WAIT_MS ? { REPORT_BATCH_WAIT_MS: process.env.REPORT_BATCH_WAIT_MS } : {}),
      ...(process.env.REPORT_BATCH_CONCURRENCY ? { REPORT_BATCH_CONCURRENCY: process.env.REPORT_BATCH_CONCURRENCY } : {}),
    });

    // Times every batch the service applies (its transaction and its events).
    const batches: Array<{ size: number; ms: number }> = [];
    const reconcile = svc.app.get(ReconcileService);
    const original = reconcile.reconcile.bind(reconcile);
    reconcile.reconcile = async (batch) => {
      const t = performance.now();
      const out = await original(batch);
      batches.push({ size: batch.length, ms: performance.now() - t });
      return out;
    };

    // The fleet's messages, encoded before the clock starts: what the DCAs spend is not measured.
    const rounds = Math.ceil(reports / hosts);
    const t0 = Date.now() - rounds * 1000;
    const messages: Array<{ subject: string; data: Uint8Array }> = [];
    for (let n = 0; n < reports; n++) {
      const hostId = base + (n % hosts);
      const r = Math.floor(n / hosts);
      const Installed = Array.from({ length: modules }, (_, m) => ({ ID: m + 1, Activated: 1, Count: r + 1, ts: 1_764_000_000 + r }));
      const env = makeEnvelope(Subjects.device.report.type, { seq: r, reason: 'interval', kernel: { Installed, Deprecated: [], Revoked: [] } }, {
        hostId,
        issuedAt: new Date(t0 + r * 1000),
      });
      messages.push({ subject: Subjects.device.report.subject({ hostId }), data: encode(env) });
    }
    const lastRound = Math.floor((reports - 1) / hosts);
    const hostsInLastRound = reports - lastRound * hosts;
    const before = await counterTotal('nco_monitor_reports_total', ['applied', 'stale', 'superseded']);

    const profiler = profileFile ? new Session() : undefined;
    if (profiler) {
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.start');
    }
    const start = performance.now();
    for (let i = 0; i < messages.length; i++) {
      nc.publish(messages[i].subject, messages[i].data);
      if (i % 1000 === 999) await nc.flush();
    }
    await nc.flush();
    const published = performance.now();
    let done = 0;
    const deadline = Date.now() + 300_000;
    while ((done = (await counterTotal('nco_monitor_reports_total', ['applied', 'stale', 'superseded'])) - before) < reports) {
      if (Date.now() > deadline) throw new Error(`only ${done} of ${reports} reports reconciled after 300 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const end = performance.now();
    if (profiler && profileFile) {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(profileFile, JSON.stringify(profile));
      profiler.disconnect();
      log(`  CPU profile of the measured window: ${profileFile}`);
    }

    const [check] = await db.ds.query(
      `SELECT (SELECT count(*)::int FROM hosts WHERE last_report_issued_at = $1) AS hosts_at_last,
              (SELECT count(*)::int FROM hosts WHERE online) AS online,
              (SELECT count(*)::int FROM deployments WHERE socket_count = $2) AS modules_at_last,
              (SELECT count(*)::int FROM deployments WHERE host_error_at IS NOT NULL) AS host_errors`,
      [new Date(t0 + lastRound * 1000), lastRound + 1],
    );
    const seconds = (end - start) / 1000;
    const sizes = batches.map((b) => b.size);
    const durations = batches.map((b) => b.ms).sort((a, b) => a - b);
    const figures = {
      bench: 'reports',
      hosts,
      modulesPerHost: modules,
      reports,
      cold,
      seconds: round(seconds, 2),
      reportsPerSec: Math.round(reports / seconds),
      targetReportsPerSec: TARGET_PER_SEC,
      publishPerSec: Math.round(reports / ((published - start) / 1000)),
      batches: batches.length,
      meanBatchSize: round(sizes.reduce((s, v) => s + v, 0) / Math.max(1, sizes.length)),
      maxBatchSize: Math.max(0, ...sizes),
      batchMsP50: round(percentile(durations, 50)),
      batchMsP99: round(percentile(durations, 99)),
      batchMsMax: round(durations[durations.length - 1] ?? 0),
      cibHostsAtLastReport: check.hosts_at_last,
      cibModulesAtLastReport: check.modules_at_last,
      cibHostErrors: check.host_errors,
      rssMb: Math.round(process.memoryUsage().rss / 1024 ** 2),
    };
    const ok = figures.reportsPerSec >= TARGET_PER_SEC;
    const cibOk = check.hosts_at_last === hostsInLastRound && check.modules_at_last === hostsInLastRound * modules && check.host_errors === 0;
    log(`  reports reconciled/s: ${figures.reportsPerSec} (target >= ${TARGET_PER_SEC}) ${ok ? 'ok' : 'MISSED'}`);
    log(`  all ${reports} reports in ${figures.seconds} s; published at ${figures.publishPerSec}/s`);
    log(`  batches: ${figures.batches}, mean size ${figures.meanBatchSize} (max ${figures.maxBatchSize}, limit ${batchSize})`);
    log(`  batch duration: p50 ${figures.batchMsP50} ms, p99 ${figures.batchMsP99} ms, max ${figures.batchMsMax} ms`);
    log(`  CIB: ${check.hosts_at_last}/${hostsInLastRound} hosts and ${check.modules_at_last}/${hostsInLastRound * modules} modules at their last report, ${check.host_errors} host errors ${cibOk ? 'ok' : 'MISMATCH'}`);
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    if (!cibOk) process.exitCode = 1;
  } finally {
    await svc?.close();
    const jsm = await nc.jetstreamManager();
    await jsm.consumers.delete(Streams.reports.name, consumer).catch(() => undefined);
    await nc.drain();
    await db.drop();
  }
}

main().catch((e) => {
  process.stderr.write(`reports bench failed: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
