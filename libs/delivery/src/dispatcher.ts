import type { ClaimedWork, DeviceWorkKind, DeviceWorkRepository, OperationEntity, SettleResult } from '@nco/cib';
import { NatsBus, operationSummary, Subjects } from '@nco/events';
import { countSettledOperations, MicroBatcher } from '@nco/runtime';
import { Logger } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { DispatchConfig, inFlightBoundMs } from './dispatch.settings';
import { DispatchMetrics } from './dispatch.metrics';
import { groupBy, outcomeLabel, planSettlement, retryDelayMs, Semaphore, SettlePlan, WorkOutcome } from './outcome';

/** Carries claimed rows of some kinds to their devices; one outcome per row, never throws per row. */
export interface Delivery {
  readonly kinds: readonly DeviceWorkKind[];
  deliver(rows: ClaimedWork[], slots: Semaphore): Promise<WorkOutcome[]>;
}

export interface DispatcherOptions {
  /** `deploy` or `revoke`: the metric label and log component. */
  name: string;
  deliveries: Delivery[];
  work: DeviceWorkRepository;
  bus: () => NatsBus;
  config: DispatchConfig & { INSTALL_CONFIRM_MS?: number };
  log: Logger;
  metrics: DispatchMetrics;
}

/** Per-row log lines per batch before the rest is summarised (a fleet-wide refusal is one line, not 10,000). */
const ROW_LOG_LIMIT = 20;
const SETTLE_TRIES = 4;
/** Batches claimed and not yet settled, per replica: one sending while the next is prepared. */
const BATCHES_IN_PROGRESS = 2;
/** Every how many sweeps revokes closed by reports (answer lost) are looked for: it scans closed rows. */
const REPORTED_REVOKES_EVERY = 10;

/**
 * Carries pending device work from the CIB to devices, for one service's kinds:
 *
 *   claim a batch (SKIP LOCKED, online hosts only) → send with bounded concurrency → settle the
 *   outcomes set-based → publish operation progress → next batch, while rows are due.
 *
 * One round runs at a time per replica; `kick()` during a round makes it look again when it
 * ends. The next batch is claimed and prepared while the previous one sends. Triggers are the
 * caller's (operator commands, events); a periodic sweep puts stale 'sent' rows back and kicks.
 * `stop()` stops claiming and waits for the round in flight: its sends finish and are settled.
 */
export class DeviceDispatcher {
  readonly kinds: DeviceWorkKind[];
  private round?: Promise<void>;
  private again = false;
  private stopping = false;
  private sweeping = false;
  private sweeps = 0;
  private timer?: NodeJS.Timeout;
  private readonly slots: Semaphore;
  private readonly byKind = new Map<DeviceWorkKind, Delivery>();
  private readonly wakes: MicroBatcher<number, void>;
  private readonly log: Logger;

  constructor(private readonly o: DispatcherOptions) {
    for (const d of o.deliveries) for (const k of d.kinds) this.byKind.set(k, d);
    this.kinds = [...this.byKind.keys()];
    this.slots = new Semaphore(o.config.DISPATCH_CONCURRENCY);
    this.log = o.log.child({ component: `${o.name}-dispatch` });
    this.wakes = new MicroBatcher<number, void>({
      maxSize: 1_000,
      maxWaitMs: 20,
      handle: async (hostIds) => {
        const woke = await this.o.work.wakeHosts([...new Set(hostIds)], this.kinds);
        if (woke) this.log.debug({ hosts: hostIds.length, rows: woke }, 'hosts back online: their waiting work is due now');
        this.kick();
        return hostIds.map(() => undefined);
      },
    });
  }

  /** Starts the periodic sweep and looks for work left from before a restart. */
  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.o.config.DISPATCH_SWEEP_MS);
    this.timer.unref();
    this.kick();
  }

  /** Look for due rows now (or again, when a round is running). */
  kick(): void {
    if (this.stopping) return;
    if (this.round) {
      this.again = true;
      return;
    }
    this.round = this.rounds()
      .catch((e) => this.log.error({ err: (e as Error).message }, 'dispatch round failed; the sweep tries again'))
      .finally(() => {
        this.round = undefined;
        if (this.again && !this.stopping) this.kick();
      });
  }

  /** A device came back online: its waiting rows are due now (hosts of many events in one statement). */
  wake(hostId: number): void {
    if (this.stopping) return;
    this.wakes.add(hostId).catch((e) => this.log.warn({ hostId, err: (e as Error).message }, 'could not wake the host\'s waiting work; the sweep will'));
  }

  /** Stale 'sent' rows back to pending (or failed when out of attempts), then a round. */
  async sweep(): Promise<void> {
    if (this.sweeping || this.stopping) return;
    this.sweeping = true;
    try {
      const c = this.o.config;
      const bound = inFlightBoundMs(c);
      const r = await this.o.work.requeueStale({
        kinds: this.kinds,
        commandsOlderThanMs: bound,
        installsOlderThanMs: Math.max(bound, c.INSTALL_CONFIRM_MS ?? 0),
        maxAttempts: c.MAX_ATTEMPTS,
      });
      if (r.retried || r.exhausted) {
        this.o.metrics.requeued.inc({ dispatcher: this.o.name }, r.retried);
        this.log.info({ requeued: r.retried, failed: r.exhausted }, 'stale sent rows put back (no answer recorded, or an install not confirmed)');
      }
      this.publishProgress(r.operations);
      if (this.kinds.includes('revoke') && this.sweeps++ % REPORTED_REVOKES_EVERY === 0) await this.settleReportedRevokes(bound);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'sweep failed');
    } finally {
      this.sweeping = false;
    }
    this.kick();
  }

  /** Revokes a device report closed while their answer was lost: settled as done so their operations finish. */
  private async settleReportedRevokes(olderThanMs: number): Promise<void> {
    const ids = await this.o.work.reportedRevokes(olderThanMs);
    if (!ids.length) return;
    const r = await this.o.work.commandsSucceeded(ids);
    if (r.settled) this.log.info({ count: r.settled }, 'revokes confirmed by device reports settled (their answers were lost)');
    this.publishProgress(r.operations);
  }

  /** Stops claiming; the round in flight finishes its sends and settles them. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.wakes.drain().catch(() => undefined);
    await this.round;
  }

  /** Resolves when no round is running (tests). */
  async idle(): Promise<void> {
    while (this.round) await this.round;
  }

  /**
   * Claims and carries batches while rows are due. Two batches may be in progress at once: the
   * next one is claimed and prepared (payloads, keys) while the previous one is still sending,
   * so requests stay in flight without a gap between batches; the shared semaphore bounds them.
   */
  private async rounds(): Promise<void> {
    const inProgress = new Set<Promise<void>>();
    try {
      while (!this.stopping) {
        while (inProgress.size >= BATCHES_IN_PROGRESS) await Promise.race(inProgress);
        if (this.stopping) break;
        this.again = false;
        const started = Date.now();
        const rows = await this.o.work.claimDue(this.kinds, this.o.config.DISPATCH_BATCH);
        if (!rows.length) break;
        const claimMs = Date.now() - started;
        const batch: Promise<void> = this.carry(rows, started, claimMs).finally(() => inProgress.delete(batch));
        inProgress.add(batch);
      }
    } finally {
      await Promise.all(inProgress);
    }
  }

  private async carry(rows: ClaimedWork[], started: number, claimMs: number): Promise<void> {
    const delivering = Date.now();
    const outcomes = await this.deliver(rows);
    await this.settle(outcomes, started, { claimMs, deliverMs: Date.now() - delivering });
  }

  private async deliver(rows: ClaimedWork[]): Promise<WorkOutcome[]> {
    const groups = groupBy(rows, (r) => this.byKind.get(r.kind)!);
    const results = await Promise.all(
      [...groups].map(async ([delivery, group]) => {
        try {
          return await delivery.deliver(group, this.slots);
        } catch (e) {
          // A delivery reports per row; an escape here is a bug or a dependency down: try again later.
          this.log.error({ kinds: delivery.kinds, rows: group.length, err: (e as Error).message }, 'delivery failed as a whole');
          return group.map((row): WorkOutcome => ({ row, result: 'transient', error: `internal: ${(e as Error).message}` }));
        }
      }),
    );
    return results.flat();
  }

  /** Applies a batch's outcomes to the CIB; a failed settle is retried, and failing that the sweep recovers the rows. */
  private async settle(outcomes: WorkOutcome[], started: number, timing: { claimMs: number; deliverMs: number }): Promise<void> {
    const settleStart = Date.now();
    const c = this.o.config;
    const plan = planSettlement(outcomes, (attempts) => retryDelayMs(attempts, c.RETRY_BASE_MS, c.RETRY_MAX_MS));
    for (let attempt = 1; ; attempt++) {
      try {
        const operations = await this.apply(plan);
        this.publishProgress(operations);
        break;
      } catch (e) {
        this.o.metrics.settleFailures.inc({ dispatcher: this.o.name });
        if (attempt >= SETTLE_TRIES) {
          this.log.error({ rows: outcomes.length, err: (e as Error).message }, 'could not settle a batch; its rows stay sent until the sweep puts them back');
          return;
        }
        this.log.warn({ rows: outcomes.length, attempt, err: (e as Error).message }, 'settle failed, retrying');
        await sleep(250 * 2 ** attempt);
      }
    }
    this.record(outcomes, started, { ...timing, settleMs: Date.now() - settleStart });
    // Rows waiting behind the ones just settled (same host and module) may be due now.
    this.kick();
  }

  private async apply(plan: SettlePlan): Promise<OperationEntity[]> {
    const w = this.o.work;
    const ops = new Map<string, OperationEntity>();
    const note = (r: SettleResult) => r.operations.forEach((op) => ops.set(op.id, op));
    await w.installsDelivered(plan.installsDelivered);
    note(await w.installsRefused(plan.installsRefused));
    const done = await w.commandsSucceeded(plan.commandsDone);
    note(done);
    if (done.skippedPriorities) {
      this.log.warn({ count: done.skippedPriorities }, 'priorities set on devices but not recorded: another module took them meanwhile');
    }
    note(await w.commandsRefused(plan.commandsRefused));
    const transient = await w.transientFailures(plan.transient, this.o.config.MAX_ATTEMPTS);
    note(transient);
    if (transient.exhausted) this.log.warn({ count: transient.exhausted }, 'rows failed after their last attempt');
    return [...ops.values()];
  }

  private record(outcomes: WorkOutcome[], started: number, timing: Record<string, number>): void {
    const m = this.o.metrics;
    const counts = new Map<string, number>();
    let logged = 0;
    const trace = this.log.isLevelEnabled('trace');
    for (const o of outcomes) {
      const key = `${o.row.kind}\0${outcomeLabel(o)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      const fields = { hostId: o.row.hostId, moduleId: o.row.moduleId, operationId: o.row.operationId, kind: o.row.kind, attempt: o.row.attempts };
      if (o.result === 'refused') {
        if (logged++ < ROW_LOG_LIMIT) this.log[o.cause === 'artifact' ? 'error' : 'warn']({ ...fields, reason: o.reason }, `${o.row.kind} refused`);
      } else if (o.result === 'transient') {
        if (trace) this.log.trace({ ...fields, err: o.error }, `${o.row.kind} got no answer; retrying later`);
      } else if (trace) {
        this.log.trace(fields, o.row.kind === 'install' ? 'install delivered' : `${o.row.kind} done`);
      }
    }
    const summary: Record<string, number> = {};
    for (const [key, n] of counts) {
      const [kind, outcome] = key.split('\0');
      m.commands.inc({ kind, outcome }, n);
      summary[`${kind}.${outcome}`] = n;
    }
    if (logged > ROW_LOG_LIMIT) this.log.warn({ more: logged - ROW_LOG_LIMIT }, 'more refusals in this batch (see nco host modules / the operation)');
    const seconds = (Date.now() - started) / 1000;
    m.batchSeconds.observe({ dispatcher: this.o.name }, seconds);
    m.batchSize.observe({ dispatcher: this.o.name }, outcomes.length);
    const operations = [...new Set(outcomes.map((o) => o.row.operationId).filter(Boolean))].slice(0, 10);
    this.log.info({ rows: outcomes.length, ms: Math.round(seconds * 1000), ...timing, outcomes: summary, operations }, 'batch carried');
  }

  private publishProgress(operations: OperationEntity[]): void {
    countSettledOperations(operations);
    for (const op of operations) {
      try {
        this.o.bus().publish(Subjects.evt.operationProgress, undefined, operationSummary(op), { operationId: op.id });
      } catch (e) {
        this.log.warn({ operationId: op.id, err: (e as Error).message }, 'operation progress not published');
      }
    }
  }
}
