import { createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';

// NATS nkeys are Ed25519 keys in base32 (RFC 4648, no padding) with a role prefix and a CRC-16
// (XMODEM, little-endian). Encoded here so that the hot paths (a JWT per enrolled device) sign
// with Node's native Ed25519 instead of the nkeys library's JavaScript one (~28 ms a JWT).
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
export const NKEY_PREFIX = { seed: 18 << 3, account: 0, user: 20 << 3 } as const;
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');

function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

export function base32(data: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of data) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer {
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    const v = B32.indexOf(c);
    if (v < 0) throw new Error('not an nkey: bad base32');
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

function encode(prefix: number[], raw: Uint8Array): string {
  if (raw.length !== 32) throw new Error(`expected a 32-byte Ed25519 key, got ${raw.length} bytes`);
  const body = Buffer.concat([Buffer.from(prefix), raw]);
  const crc = crc16(body);
  return base32(Buffer.concat([body, Buffer.from([crc & 0xff, crc >> 8])]));
}

export function encodePublicNkey(role: number, raw: Uint8Array): string {
  return encode([role], raw);
}

export function encodeSeedNkey(role: number, raw: Uint8Array): string {
  return encode([NKEY_PREFIX.seed | (role >> 5), (role & 31) << 3], raw);
}

/** The Ed25519 private key of a seed (S…), and its public nkey in the seed's role. */
export function keyOfSeed(seed: string): { key: KeyObject; publicKey: string } {
  const bytes = unbase32(seed);
  if (bytes.length !== 36 || (bytes[0] & 0xf8) !== NKEY_PREFIX.seed) throw new Error('not an nkey seed');
  const crc = bytes[34] | (bytes[35] << 8);
  if (crc16(bytes.subarray(0, 34)) !== crc) throw new Error('nkey seed: bad checksum');
  const role = ((bytes[0] & 7) << 5) | ((bytes[1] & 0xf8) >> 3);
  const key = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, bytes.subarray(2, 34)]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return { key, publicKey: encodePublicNkey(role, spki.subarray(spki.length - 32)) };
}
