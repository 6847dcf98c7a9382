/** Largest fleet a three-octet MAC prefix leaves room for. */
export const MAX_FLEET_DEVICES = 0xff_ff_ff;

/** The MAC of the fleet's device number `index` (0-based): the prefix, then index + 1 in three octets. */
export function fleetMac(prefix: string, index: number): string {
  const n = index + 1;
  if (!Number.isInteger(index) || index < 0 || n > MAX_FLEET_DEVICES) throw new RangeError(`device index ${index} does not fit in three octets`);
  const octets = [n >> 16, (n >> 8) & 0xff, n & 0xff].map((b) => b.toString(16).padStart(2, '0'));
  return `${prefix.toLowerCase()}:${octets.join(':')}`;
}

/** Parses `wireshark:1,ids:2` into `{ wireshark: 1, ids: 2 }`; throws naming the bad part. */
export function parseMiddleboxes(spec: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z][a-z0-9_-]{0,31}):(\d{1,6})$/.exec(part);
    if (!m) throw new Error(`"${part}" is not type:count (like wireshark:1)`);
    out[m[1]] = (out[m[1]] ?? 0) + Number(m[2]);
  }
  return out;
}
