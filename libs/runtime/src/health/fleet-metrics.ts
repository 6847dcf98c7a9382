import { gauge, counter, histogram } from './metrics';

/**
 * Fleet-level Prometheus metrics that more than one service records: the names the Grafana
 * dashboard (deploy/grafana/nco-dashboard.json) and alerts rely on. Each is registered in the
 * process that first uses it, so a service exports only what it records; in Prometheus,
 * `sum by (...)` over services gives the fleet figure.
 *
 *   nco_operations_total{kind, outcome}          operator operations settled (where they settle)
 *   nco_builds_total{outcome}                    kernel-flavor builds (construct-svc)
 *   nco_build_hosts_total{outcome}               host-unique modules built / failed (construct-svc)
 *   nco_build_duration_seconds{outcome,compiled} one flavor: compile when needed, then stamping
 *   nco_build_queue_jobs{state}                  BullMQ job counts, read at scrape time (construct-svc)
 *   nco_security_challenges_total{outcome}       challenge-responses: passed | failed (security-svc)
 *   nco_refusals_total{by, reason}               refused commands, artifacts, answers and inputs
 *
 * Hosts online/offline (`nco_monitor_hosts{state}`) and reports reconciled
 * (`nco_monitor_reports_total{outcome}`) are monitor-svc's own (apps/monitor-svc/src/metrics.ts);
 * NATS reconnects (`nco_nats_reconnects_total`) are in every service (./metrics.ts).
 */
export const fleetMetrics = () => ({
  operations: counter(
    'nco_operations_total',
    'Operator operations settled, by kind (build, deploy, toggle, priority, deprecate, revoke, rotate) and outcome (succeeded, failed, partially_failed)',
    ['kind', 'outcome'],
  ),
  builds: counter('nco_builds_total', 'Kernel-flavor builds (a compile or a reused template, then stamping per host), by outcome: succeeded, failed', ['outcome']),
  buildHosts: counter('nco_build_hosts_total', 'Host-unique modules built, or failed at build, by outcome', ['outcome']),
  buildSeconds: histogram(
    'nco_build_duration_seconds',
    'Time to build one kernel flavor for its hosts (compile when needed, then stamping), by outcome and whether it compiled',
    ['outcome', 'compiled'],
    [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  ),
  challenges: counter('nco_security_challenges_total', 'Security challenge-responses checked, by outcome: passed, failed', ['outcome']),
  refusals: counter(
    'nco_refusals_total',
    'Refusals, by who refused (device, nco) and a short reason code (bad_signature, replayed, wrong_host, challenge_failed, invalid_message, ...)',
    ['by', 'reason'],
  ),
});

export type FleetMetrics = ReturnType<typeof fleetMetrics>;

type OperationOutcome = { id: string; kind: string; status: string };
const SETTLED = new Set(['succeeded', 'failed', 'partially_failed', 'cancelled']);
/** Ids counted recently, so an operation announced twice by this process is counted once. */
const counted = new Set<string>();

/**
 * Counts the operations of `ops` that have settled. Call it with the rows an
 * `UPDATE … WHERE status IN ('pending','running') RETURNING` moved (or that were just announced
 * as progress): a row that comes back settled is the transition, counted by the service that
 * made it.
 */
export function countSettledOperations(ops: readonly OperationOutcome[]): void {
  const m = fleetMetrics();
  for (const op of ops) {
    if (!SETTLED.has(op.status) || counted.has(op.id)) continue;
    if (counted.size >= 10_000) counted.clear();
    counted.add(op.id);
    m.operations.inc({ kind: op.kind, outcome: op.status });
  }
}

/** One kernel flavor built for `hostCount` hosts (or failed for all of them). */
export function recordBuild(b: { outcome: 'succeeded' | 'failed'; compiled: boolean; durationMs: number; hostCount: number }): void {
  const m = fleetMetrics();
  m.builds.inc({ outcome: b.outcome });
  m.buildHosts.inc({ outcome: b.outcome }, b.hostCount);
  m.buildSeconds.observe({ outcome: b.outcome, compiled: String(b.compiled) }, b.durationMs / 1000);
}

/** A challenge-response checked by security-svc. */
export function recordChallenge(outcome: 'passed' | 'failed', n = 1): void {
  fleetMetrics().challenges.inc({ outcome }, n);
}

/** A refusal; `reason` is a short code from a fixed set (never free text: every value is a series). */
export function recordRefusal(by: 'device' | 'nco', reason: string, n = 1): void {
  fleetMetrics().refusals.inc({ by, reason }, n);
}

let readQueue: (() => Promise<Record<string, number>>) | undefined;

/**
 * Exports the build queue's job counts (waiting, active, delayed, failed, …) as
 * `nco_build_queue_jobs{state}`, read from BullMQ when Prometheus scrapes (one Redis round trip
 * per scrape, nothing in between). The latest registered reader wins (tests start services
 * more than once in a process).
 */
export function trackBuildQueue(read: () => Promise<Record<string, number>>): void {
  readQueue = read;
  gaugeWithCollect('nco_build_queue_jobs', 'Build jobs in the BullMQ queue by state (read at scrape time)', ['state'], async (g) => {
    if (!readQueue) return;
    try {
      const counts = await readQueue();
      for (const [state, n] of Object.entries(counts)) g.set({ state }, n);
    } catch {
      // Redis unavailable: keep the last figures; readiness and logs report the outage.
    }
  });
}

function gaugeWithCollect(name: string, help: string, labelNames: string[], collect: (g: ReturnType<typeof gauge>) => Promise<void>) {
  const g = gauge(name, help, labelNames) as ReturnType<typeof gauge> & { collect?: () => Promise<void> };
  g.collect = () => collect(g);
  return g;
}
