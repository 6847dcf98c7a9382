import type { KeyObject } from 'node:crypto';

// A device's Ed25519 identity key (device-keys.ts) doubles as its NATS user nkey: an nkey is the
// same 32-byte Ed25519 key in base32 with a role prefix and a CRC-16. So enrollment, which already
// holds the device's public key, can issue its NATS JWT, and the device signs the server's nonce
// with the key it already keeps: no second key to enroll, store or rotate.
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const USER_PREFIX = 20 << 3; // 'U'
const SEED_PREFIX = 18 << 3; // 'S'

function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const b of data) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function base32(data: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of data) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

function nkeyText(prefix: number[], raw: Uint8Array): string {
  if (raw.length !== 32) throw new Error(`expected a 32-byte Ed25519 key, got ${raw.length} bytes`);
  const body = Buffer.concat([Buffer.from(prefix), raw]);
  const crc = crc16(body);
  return base32(Buffer.concat([body, Buffer.from([crc & 0xff, crc >> 8])]));
}

/** The NATS user public key (U…) of a device's Ed25519 identity, from its base64 SPKI (what enrollment stores). */
export function natsUserKeyOfDevice(signPublicSpkiB64: string): string {
  const der = Buffer.from(signPublicSpkiB64, 'base64');
  return nkeyText([USER_PREFIX], der.subarray(der.length - 32));
}

/** The NATS user seed (SU…) of a device's Ed25519 private key: with its JWT, the device's creds. */
export function natsUserSeedOfDevice(sign: KeyObject): string {
  if (sign.asymmetricKeyType !== 'ed25519') throw new Error('a device NATS seed needs the Ed25519 identity key');
  const der = sign.export({ format: 'der', type: 'pkcs8' });
  return nkeyText([SEED_PREFIX | (USER_PREFIX >> 5), (USER_PREFIX & 31) << 3], der.subarray(der.length - 32));
}
