import { InvalidArgumentError } from 'commander';
import { Labels, SECURITY_WINDOW_MS } from '@nco/events';
import { usageError } from './errors';
import { parseDuration } from './output/time';

/*
 * Argument parsers for commander: each throws InvalidArgumentError, which commander prints as
 * `error: option '--x <v>' argument 'bad' is invalid. <why>` and exits with the usage code.
 */

export function positiveInt(max = Number.MAX_SAFE_INTEGER, what = 'a positive whole number') {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(`expected ${what}${max < Number.MAX_SAFE_INTEGER ? ` from 1 to ${max}` : ''}.`);
    }
    return n;
  };
}

export const parseTimeout = positiveInt(3_600_000, 'milliseconds');
export const parseHostId = positiveInt(2_147_483_647, 'a host id');

export const LABEL_KEY = /^[a-z0-9][a-z0-9._/-]{0,62}$/;

/** `--label k=v`, repeatable: collects `[k, v]` pairs. */
export function collectLabel(value: string, previous: Array<[string, string]> = []): Array<[string, string]> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected key=value, like rack=a1.');
  const key = value.slice(0, at);
  const val = value.slice(at + 1);
  if (!LABEL_KEY.test(key)) throw new InvalidArgumentError(`label key "${key}" must be lower-case letters, digits, . _ / - (up to 63).`);
  if (val.length > 128) throw new InvalidArgumentError('label values are at most 128 characters.');
  return [...previous, [key, val]];
}

/**
 * Label pairs as the selector the NCO takes (checked after parsing, so it throws a usage CliError);
 * the same key twice with two values is a mistake, not a choice.
 */
export function labelSelector(pairs: Array<[string, string]> | undefined): Record<string, string> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (k in out && out[k] !== v) throw usageError(`--label: ${k} is given twice with different values`);
    out[k] = v;
  }
  const parsed = Labels.safeParse(out);
  if (!parsed.success) throw usageError(`--label: ${parsed.error.issues[0]?.message ?? 'invalid labels'}`);
  return parsed.data;
}

/** `--since 5m`: a duration back from now. */
export function parseSince(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration like 30s, 5m, 1h or 2d.');
  return ms;
}

/** `--host 1,2,3`, repeatable: collects host ids (duplicates dropped). */
export function collectHostIds(value: string, previous: number[] = []): number[] {
  const ids = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (ids.length === 0) throw new InvalidArgumentError('expected host ids like 3 or 3,4,5.');
  const parsed = ids.map((id) => parseHostId(id));
  return [...new Set([...previous, ...parsed])];
}

/**
 * `--param name=value`, repeatable. `true`/`false` become booleans and whole numbers become
 * numbers, as module.json declares them; everything else stays text. The NCO checks each value
 * against the module's declared parameter types.
 */
export function collectParam(value: string, previous: Record<string, string | number | boolean> = {}): Record<string, string | number | boolean> {
  const at = value.indexOf('=');
  if (at <= 0) throw new InvalidArgumentError('expected name=value, like dst_port=53.');
  const name = value.slice(0, at);
  const raw = value.slice(at + 1);
  if (name in previous) throw new InvalidArgumentError(`${name} is given twice.`);
  const typed = raw === 'true' ? true : raw === 'false' ? false : /^-?\d{1,15}$/.test(raw) ? Number(raw) : raw;
  return { ...previous, [name]: typed };
}

/** `--drain-timeout 10m`: a duration in milliseconds (0 allowed: revoke at once). */
export function parseDurationArg(value: string): number {
  if (value.trim() === '0') return 0;
  const ms = parseDuration(value);
  if (ms === undefined) throw new InvalidArgumentError('expected a duration like 30s, 5m or 1h.');
  return ms;
}

/** `--security-window 1h`: how often security-svc challenges the new deployments (1s .. 30d). */
export function parseSecurityWindow(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < SECURITY_WINDOW_MS.min || ms > SECURITY_WINDOW_MS.max) {
    throw new InvalidArgumentError('expected a duration from 1s to 30d, like 10m, 1h or 7d.');
  }
  return ms;
}

/** `on`/`off` (also 1/0, active/inactive) → the kernel's active mode. */
export function parseMode(value: string): 0 | 1 {
  const v = value.trim().toLowerCase();
  if (['on', '1', 'active', 'true'].includes(v)) return 1;
  if (['off', '0', 'inactive', 'false'].includes(v)) return 0;
  throw new InvalidArgumentError('expected on or off.');
}
