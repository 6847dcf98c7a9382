import { randomInt } from 'node:crypto';
import { HostIdMode, NcoError } from '@nco/events';

const MAX_RANDOM_ID = 2_147_483_647;

/**
 * The host id to offer a MAC the CIB does not know yet (the prototype's three modes).
 * `null` means "take the next value of the CIB's sequence".
 */
export function proposeHostId(mode: HostIdMode, ip: string | undefined): number | null {
  switch (mode) {
    case 'sequential':
      return null;
    case 'random':
      return randomInt(1, MAX_RANDOM_ID);
    case 'ipv4-octet': {
      const octet = ip && /^\d{1,3}(\.\d{1,3}){3}$/.test(ip) ? Number(ip.split('.')[3]) : NaN;
      if (!(octet >= 1 && octet <= 254)) {
        throw new NcoError('invalid_request', `host id mode ipv4-octet needs the device's IPv4 address with a last octet 1-254 (got ${ip ?? 'none'})`);
      }
      return octet;
    }
  }
}

/** What changed between the recorded host and its check-in, as `{field: {from, to}}`. */
export function diffHost(
  previous: Record<string, unknown>,
  current: Record<string, unknown>,
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const key of Object.keys(current)) {
    const from = previous[key] ?? null;
    const to = current[key] ?? null;
    if (from !== to) changes[key] = { from, to };
  }
  return changes;
}
