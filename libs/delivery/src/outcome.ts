import type { ClaimedWork, Refusal, TransientFailure } from '@nco/cib';
import { isNcoError, KernelResult } from '@nco/events';

/**
 * What became of one claimed row:
 * - `done`: the device carried the command out, or loaded the module (an install then waits for
 *   the report that confirms it);
 * - `refused`: it cannot succeed as asked (the device said no — Result 0 or its error text — or
 *   the artifact does not match its record, or the deployment is gone): failed for good;
 * - `transient`: no answer (timeout, no responder) or a dependency down: tried again later.
 */
export type WorkOutcome =
  | { row: ClaimedWork; result: 'done' }
  | { row: ClaimedWork; result: 'refused'; reason: string; cause: RefusalCause }
  | { row: ClaimedWork; result: 'transient'; error: string };

/** device: the device refused; artifact: the NCO's own check failed before sending; gone: nothing to do any more. */
export type RefusalCause = 'device' | 'artifact' | 'gone' | 'invalid';

/** Metric label of an outcome. */
export function outcomeLabel(o: WorkOutcome): string {
  if (o.result === 'refused') return o.cause === 'device' ? 'refused' : o.cause === 'artifact' ? 'mismatch' : o.cause;
  return o.result;
}

/** Error codes with which a device (or our own decoding of its answer) says the request itself is wrong. */
const REFUSAL_CODES = new Set(['invalid_message', 'invalid_request', 'conflict', 'not_found']);

/** The kernel core's answer: Result 1 for the module asked about is done; anything else is a refusal. */
export function fromReply(row: ClaimedWork, reply: KernelResult): WorkOutcome {
  if (reply.ID !== row.moduleId) {
    return { row, result: 'refused', cause: 'device', reason: `the device answered for module ${reply.ID}, not ${row.moduleId}` };
  }
  if (reply.Result !== 1) {
    return { row, result: 'refused', cause: 'device', reason: `the device's kernel core refused the ${row.kind} (Result 0)` };
  }
  return { row, result: 'done' };
}

/**
 * A failed request: an error reply with a refusal code carries the device's own text (the
 * reason recorded); a timeout, no responder or an agent-internal error is transient.
 */
export function fromError(row: ClaimedWork, e: unknown): WorkOutcome {
  if (isNcoError(e) && REFUSAL_CODES.has(e.code)) return { row, result: 'refused', cause: 'device', reason: e.message };
  const code = isNcoError(e) ? e.code : 'error';
  return { row, result: 'transient', error: `${code}: ${(e as Error)?.message ?? String(e)}` };
}

/** Backoff before try `attempts + 1`: base × 2^(attempts-1), capped, with ±25 % jitter so retries spread. */
export function retryDelayMs(attempts: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  return Math.round(exp * (0.75 + random() * 0.5));
}

/** The settle calls a batch of outcomes needs, one list per repository call. */
export interface SettlePlan {
  installsDelivered: string[];
  installsRefused: Refusal[];
  commandsDone: string[];
  commandsRefused: Refusal[];
  transient: TransientFailure[];
}

export function planSettlement(outcomes: WorkOutcome[], delay: (attempts: number) => number): SettlePlan {
  const plan: SettlePlan = { installsDelivered: [], installsRefused: [], commandsDone: [], commandsRefused: [], transient: [] };
  for (const o of outcomes) {
    const install = o.row.kind === 'install';
    const pendingId = o.row.pendingId;
    if (o.result === 'done') (install ? plan.installsDelivered : plan.commandsDone).push(pendingId);
    else if (o.result === 'refused') (install ? plan.installsRefused : plan.commandsRefused).push({ pendingId, reason: o.reason });
    else plan.transient.push({ pendingId, error: o.error, retryInMs: delay(o.row.attempts) });
  }
  return plan;
}

/** A counting semaphore: at most `limit` tasks run at once, the rest wait in order. */
export class Semaphore {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // the slot is handed over
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Groups items by a key, keeping first-seen order. */
export function groupBy<T, K>(items: readonly T[], key: (t: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
