import type { ClaimedInverse, InverseDone, InverseFailure, MiddleboxRepository } from '@nco/cib';
import type { InverseResult } from '@nco/events';
import { isNcoError } from '@nco/events';
import { Logger } from 'pino';
import { DispatchConfig, inFlightBoundMs, retryDelayMs, Semaphore } from '@nco/delivery';

/** Sends one claimed row to its middlebox and returns the middlebox's answer (throws on error). */
export type InverseSend = (row: ClaimedInverse) => Promise<InverseResult>;

export interface InverseReconcilerOptions {
  repo: Pick<MiddleboxRepository, 'reconcile' | 'claimDue' | 'settle' | 'requeueStale' | 'wakeHosts'>;
  send: InverseSend;
  config: DispatchConfig;
  log: Logger;
  /**
   * Rounds start at most this often (default 200 ms): a fleet deploy announces thousands of
   * installs, and one round after a burst sees them all.
   */
  minGapMs?: number;
}

/**
 * Keeps middleboxes' inverse modules in step with deployments, as a desired-state loop:
 *
 *   reconcile (the CIB computes what each middlebox must hold and queues pending rows)
 *   → claim due rows of online middleboxes → send with bounded concurrency → settle set-based
 *   → again while rows are due.
 *
 * Triggers only say "look now" (deployment and check-in events, a report that found a
 * difference); a periodic sweep puts stale 'sent' rows back and looks anyway, so a lost event
 * changes nothing but the delay. One round at a time per replica; replicas share the work
 * through the CIB (advisory lock for the reconcile, SKIP LOCKED claims).
 */
export class InverseReconciler {
  private round?: Promise<void>;
  private again = false;
  private stopping = false;
  private timer?: NodeJS.Timeout;
  private delayed?: NodeJS.Timeout;
  private lastStart = 0;
  private readonly slots: Semaphore;

  constructor(private readonly o: InverseReconcilerOptions) {
    this.slots = new Semaphore(o.config.DISPATCH_CONCURRENCY);
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.o.config.DISPATCH_SWEEP_MS);
    this.timer.unref();
    this.kick();
  }

  /** Look now (or once more when the running round ends). */
  kick(): void {
    if (this.stopping) return;
    if (this.round) {
      this.again = true;
      return;
    }
    const wait = this.lastStart + (this.o.minGapMs ?? 200) - Date.now();
    if (wait > 0) {
      this.delayed ??= setTimeout(() => {
        this.delayed = undefined;
        this.kick();
      }, wait);
      return;
    }
    this.again = false;
    this.lastStart = Date.now();
    this.round = this.rounds()
      .catch((e) => this.o.log.error({ err: (e as Error).message }, 'inverse round failed; the sweep tries again'))
      .finally(() => {
        this.round = undefined;
        if (this.again && !this.stopping) this.kick();
      });
  }

  /** A middlebox came back online: its waiting rows are due now. */
  async wake(hostIds: number[]): Promise<void> {
    if (this.stopping) return;
    await this.o.repo.wakeHosts(hostIds);
    this.kick();
  }

  async sweep(): Promise<void> {
    if (this.stopping) return;
    try {
      const back = await this.o.repo.requeueStale(inFlightBoundMs(this.o.config));
      if (back) this.o.log.info({ rows: back }, 'stale inverse rows put back (no answer recorded)');
    } catch (e) {
      this.o.log.warn({ err: (e as Error).message }, 'inverse sweep failed');
    }
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    if (this.delayed) clearTimeout(this.delayed);
    await this.round;
  }

  /** Resolves when no round runs or waits to start (tests). */
  async idle(): Promise<void> {
    while (this.round || this.delayed) await (this.round ?? new Promise((r) => setTimeout(r, 10)));
  }

  private async rounds(): Promise<void> {
    const counts = await this.o.repo.reconcile();
    if (counts.synced || counts.required || counts.removing || counts.queued || counts.superseded) {
      this.o.log.info(counts, 'inverse modules reconciled against deployments');
    }
    while (!this.stopping) {
      const rows = await this.o.repo.claimDue(this.o.config.DISPATCH_BATCH);
      if (!rows.length) return;
      await this.carry(rows);
    }
  }

  private async carry(rows: ClaimedInverse[]): Promise<void> {
    const done: InverseDone[] = [];
    const failed: InverseFailure[] = [];
    const c = this.o.config;
    await Promise.all(
      rows.map((row) =>
        this.slots.run(async () => {
          try {
            const r = await this.o.send(row);
            if (r.file !== row.file) throw new Error(`the middlebox answered for ${r.file}, not ${row.file}`);
            done.push({ pendingId: row.pendingId, sha256: row.sha256 ?? undefined });
          } catch (e) {
            const error = isNcoError(e) ? `${e.code}: ${e.message}` : (e as Error).message;
            failed.push({ pendingId: row.pendingId, error, retryInMs: retryDelayMs(row.attempts, c.RETRY_BASE_MS, c.RETRY_MAX_MS) });
          }
        }),
      ),
    );
    const r = await this.o.repo.settle(done, failed, c.MAX_ATTEMPTS);
    const log = failed.length ? 'warn' : 'info';
    this.o.log[log](
      {
        rows: rows.length,
        installs: rows.filter((x) => x.kind === 'inverse_install').length,
        removals: rows.filter((x) => x.kind === 'inverse_remove').length,
        ...r,
        firstError: failed[0]?.error,
      },
      'inverse modules carried to middleboxes',
    );
  }
}
