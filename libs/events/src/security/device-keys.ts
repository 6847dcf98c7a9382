import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, KeyObject, timingSafeEqual } from 'node:crypto';

/**
 * A device's identity (docs/security.md): an Ed25519 key pair that signs what the device sends
 * (check-ins, reports, answers), and an X25519 key pair to which the NCO encrypts artifacts.
 * Public halves travel as base64 SPKI DER; the fingerprint names the device in logs and the CLI.
 */
export interface DeviceKeys {
  sign: KeyObject;
  enc: KeyObject;
  signPublic: string;
  encPublic: string;
  fingerprint: string;
}

// PKCS#8 DER of a raw 32-byte private key: a fixed prefix, then the key (RFC 8410).
const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');

function fromPrivate(sign: KeyObject, enc: KeyObject): DeviceKeys {
  const signPublic = createPublicKey(sign).export({ format: 'der', type: 'spki' }).toString('base64');
  const encPublic = createPublicKey(enc).export({ format: 'der', type: 'spki' }).toString('base64');
  return { sign, enc, signPublic, encPublic, fingerprint: fingerprintOf(signPublic) };
}

export function generateDeviceKeys(): DeviceKeys {
  return fromPrivate(generateKeyPairSync('ed25519').privateKey, generateKeyPairSync('x25519').privateKey);
}

/** Deterministic keys from a secret seed and a name (a fleet simulator's devices: no key files, stable across restarts). */
export function deriveDeviceKeys(seed: Buffer, name: string): DeviceKeys {
  const raw = Buffer.from(hkdfSync('sha256', seed, Buffer.from(name), 'nco-device-identity/1', 64));
  const sign = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8, raw.subarray(0, 32)]), format: 'der', type: 'pkcs8' });
  const enc = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, raw.subarray(32, 64)]), format: 'der', type: 'pkcs8' });
  return fromPrivate(sign, enc);
}

/** Serialised private halves (kept 0600 in the DCA's state dir). */
export function exportDeviceKeys(k: DeviceKeys): { v: 1; sign: string; enc: string } {
  return {
    v: 1,
    sign: k.sign.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    enc: k.enc.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
  };
}

export function importDeviceKeys(j: { sign: string; enc: string }): DeviceKeys {
  const sign = createPrivateKey({ key: Buffer.from(j.sign, 'base64'), format: 'der', type: 'pkcs8' });
  const enc = createPrivateKey({ key: Buffer.from(j.enc, 'base64'), format: 'der', type: 'pkcs8' });
  if (sign.asymmetricKeyType !== 'ed25519' || enc.asymmetricKeyType !== 'x25519') throw new Error('device identity: expected ed25519 and x25519 keys');
  return fromPrivate(sign, enc);
}

export function fingerprintOf(signPublicB64: string): string {
  return createHash('sha256').update(Buffer.from(signPublicB64, 'base64')).digest('hex').slice(0, 16);
}

export function publicKeyFrom(spkiB64: string, type: 'ed25519' | 'x25519'): KeyObject {
  const k = createPublicKey({ key: Buffer.from(spkiB64, 'base64'), format: 'der', type: 'spki' });
  if (k.asymmetricKeyType !== type) throw new Error(`expected an ${type} public key, got ${k.asymmetricKeyType}`);
  return k;
}

/** Bootstrap-token proof: HMAC-SHA256(token, signing public key), so the token itself never travels. */
export function enrollmentProof(token: string, signPublicB64: string): string {
  return createHmac('sha256', token).update(signPublicB64).digest('base64');
}

export function checkEnrollmentProof(token: string, signPublicB64: string, proof: string): boolean {
  const want = Buffer.from(enrollmentProof(token, signPublicB64), 'base64');
  const got = Buffer.from(proof, 'base64');
  return got.length === want.length && timingSafeEqual(got, want);
}
