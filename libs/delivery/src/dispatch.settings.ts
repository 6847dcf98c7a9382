import { env } from '@nco/runtime';

/**
 * Settings of a device-work dispatcher (deploy-svc and revoke-svc): how much is claimed and sent
 * at once, how often the sweep looks for due and stale rows, and how failures are retried.
 */
export const DispatchSettingsShape = {
  /** Pending rows claimed per round (one claim, one keys request, one settle per kind). */
  DISPATCH_BATCH: env.int(1, 20_000).default(2_000),
  /** Device requests in flight at once per replica. */
  DISPATCH_CONCURRENCY: env.int(1, 10_000).default(1_000),
  /** How often due rows are looked for without a trigger, and stale 'sent' rows are put back. */
  DISPATCH_SWEEP_MS: env.int(50, 3_600_000).default(2_000),
  /** Tries before a row fails for good (timeouts, no responder, a dependency down). */
  MAX_ATTEMPTS: env.int(1, 100).default(8),
  /** Backoff after a failed try: RETRY_BASE_MS × 2^(attempt-1), at most RETRY_MAX_MS (with jitter). */
  RETRY_BASE_MS: env.int(10, 3_600_000).default(1_000),
  RETRY_MAX_MS: env.int(10, 86_400_000).default(60_000),
  /** How long a device has to answer one command or install. */
  COMMAND_TIMEOUT_MS: env.int(100, 600_000).default(15_000),
};

export interface DispatchConfig {
  DISPATCH_BATCH: number;
  DISPATCH_CONCURRENCY: number;
  DISPATCH_SWEEP_MS: number;
  MAX_ATTEMPTS: number;
  RETRY_BASE_MS: number;
  RETRY_MAX_MS: number;
  COMMAND_TIMEOUT_MS: number;
}

/**
 * The longest a row can legitimately stay 'sent' while its replica works on it: every request
 * of a batch waits at most COMMAND_TIMEOUT_MS, the batch goes out in ceil(BATCH / CONCURRENCY)
 * waves, plus room for the settle. A 'sent' command older than this lost its sender.
 */
export function inFlightBoundMs(c: DispatchConfig): number {
  return c.COMMAND_TIMEOUT_MS * (Math.ceil(c.DISPATCH_BATCH / c.DISPATCH_CONCURRENCY) + 1) + 5_000;
}

/** Cross-field check of the retry settings (a zod refinement of each service's settings). */
export const retryRange = {
  check: (c: DispatchConfig) => c.RETRY_MAX_MS >= c.RETRY_BASE_MS,
  params: { path: ['RETRY_MAX_MS'], message: 'must be at least RETRY_BASE_MS' },
};
