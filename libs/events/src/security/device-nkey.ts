import type { KeyObject } from 'node:crypto';
import { encodePublicNkey, encodeSeedNkey, NKEY_PREFIX } from './nkey-codec';

// A device's Ed25519 identity key (device-keys.ts) doubles as its NATS user nkey: an nkey is the
// same 32-byte Ed25519 key in base32 with a role prefix and a CRC-16. So enrollment, which already
// holds the device's public key, can issue its NATS JWT, and the device signs the server's nonce
// with the key it already keeps: no second key to enroll, store or rotate.

/** The NATS user public key (U…) of a device's Ed25519 identity, from its base64 SPKI (what enrollment stores). */
export function natsUserKeyOfDevice(signPublicSpkiB64: string): string {
  const der = Buffer.from(signPublicSpkiB64, 'base64');
  return encodePublicNkey(NKEY_PREFIX.user, der.subarray(der.length - 32));
}

/** The NATS user seed (SU…) of a device's Ed25519 private key: with its JWT, the device's creds. */
export function natsUserSeedOfDevice(sign: KeyObject): string {
  if (sign.asymmetricKeyType !== 'ed25519') throw new Error('a device NATS seed needs the Ed25519 identity key');
  const der = sign.export({ format: 'der', type: 'pkcs8' });
  return encodeSeedNkey(NKEY_PREFIX.user, der.subarray(der.length - 32));
}
