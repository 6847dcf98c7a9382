export interface BackoffOptions {
  /** First retry delay. */
  initialMs: number;
  /** Cap of the exponential growth. */
  maxMs: number;
  /** Floor and cap for retries after a refusal (the NCO answered but refused the message). */
  slowMinMs: number;
  slowMaxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 30_000, slowMinMs: 30_000, slowMaxMs: 300_000 };

/**
 * Capped exponential backoff with "equal jitter": the delay is between half and all of the
 * exponential step, so a fleet that lost the NCO at once does not come back in lock step.
 */
export function backoffDelay(attempt: number, slow: boolean, o: BackoffOptions, random: () => number = Math.random): number {
  const exp = o.initialMs * 2 ** Math.min(attempt, 30);
  const base = slow ? Math.min(o.slowMaxMs, Math.max(o.slowMinMs, exp)) : Math.min(o.maxMs, exp);
  return Math.round(base / 2 + (base / 2) * random());
}
