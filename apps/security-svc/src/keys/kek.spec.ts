import { randomBytes } from 'node:crypto';
import { parseKeks, unwrapKey, wrapKey } from './kek';

const kek = { id: 'k1', key: randomBytes(32) };

describe('KEK wrapping', () => {
  it('round-trips a module key and never stores it in the clear', () => {
    const key = randomBytes(32);
    const wrapped = wrapKey(kek, 'id-1', key);
    expect(wrapped.length).toBe(12 + 16 + 32);
    expect(wrapped.includes(key)).toBe(false);
    expect(unwrapKey(kek, 'id-1', wrapped)).toEqual(key);
  });

  it('refuses a wrapped key moved to another key id, tampered, or opened with another KEK', () => {
    const wrapped = wrapKey(kek, 'id-1', randomBytes(32));
    expect(() => unwrapKey(kek, 'id-2', wrapped)).toThrow();
    const tampered = Buffer.from(wrapped);
    tampered[40] ^= 1;
    expect(() => unwrapKey(kek, 'id-1', tampered)).toThrow();
    expect(() => unwrapKey({ id: 'k2', key: randomBytes(32) }, 'id-1', wrapped)).toThrow();
  });

  it('parses previous KEKs and refuses a short one', () => {
    const prev = randomBytes(32).toString('base64');
    const { current, all } = parseKeks('k2', randomBytes(32).toString('base64'), [`k1:${prev}`]);
    expect(current.id).toBe('k2');
    expect([...all.keys()]).toEqual(['k2', 'k1']);
    expect(() => parseKeks('k2', prev, ['k1:AAAA'])).toThrow(/not 32 bytes/);
  });
});
