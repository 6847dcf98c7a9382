import { InvalidArgumentError } from 'commander';
import { Labels } from '@nco/events';
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

const LABEL_KEY = /^[a-z0-9][a-z0-9._/-]{0,62}$/;

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
