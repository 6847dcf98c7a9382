import { createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * NCO command-signing keys (Ed25519). On the wire and in settings a key is `kid:base64`:
 * the private key as PKCS#8 DER, a public key as SPKI DER. The key id travels in every
 * signature, so devices can trust an old and a new key at once while the NCO rotates.
 */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
}

export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export interface GeneratedSigningKey {
  kid: string;
  /** `kid:base64(PKCS#8)`: the value of NCO_SIGNING_KEY (or the content of NCO_SIGNING_KEY_FILE). Secret. */
  privateSpec: string;
  /** `kid:base64(SPKI)`: one entry of a device's DCA_TRUSTED_KEYS. */
  publicSpec: string;
}

export function generateSigningKey(kid: string): GeneratedSigningKey {
  if (!KEY_ID.test(kid)) throw new Error(`key id ${JSON.stringify(kid)}: letters, digits, . _ - (1..64)`);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    kid,
    privateSpec: `${kid}:${privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')}`,
    publicSpec: `${kid}:${publicKey.export({ format: 'der', type: 'spki' }).toString('base64')}`,
  };
}

function splitSpec(spec: string, what: string): [string, Buffer] {
  const at = spec.indexOf(':');
  const kid = spec.slice(0, at);
  if (at < 1 || !KEY_ID.test(kid)) throw new Error(`${what}: expected kid:base64 with a key id of letters, digits, . _ -`);
  return [kid, Buffer.from(spec.slice(at + 1).trim(), 'base64')];
}

/** Reads `kid:base64(PKCS#8)`; refuses anything but an Ed25519 private key. */
export function parseSigningKey(spec: string): SigningKey {
  const [kid, der] = splitSpec(spec.trim(), 'signing key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw new Error(`signing key ${kid}: not a PKCS#8 private key`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`signing key ${kid}: expected ed25519, got ${privateKey.asymmetricKeyType}`);
  return { kid, privateKey, publicKey: createPublicKey(privateKey) };
}

/** NCO_SIGNING_KEY, or the file NCO_SIGNING_KEY_FILE names (one line, `kid:base64`). */
export function loadSigningKey(o: { NCO_SIGNING_KEY?: string; NCO_SIGNING_KEY_FILE?: string }): SigningKey | undefined {
  if (o.NCO_SIGNING_KEY) return parseSigningKey(o.NCO_SIGNING_KEY);
  if (o.NCO_SIGNING_KEY_FILE) return parseSigningKey(readFileSync(o.NCO_SIGNING_KEY_FILE, 'utf8'));
  return undefined;
}

/** `kid:base64(SPKI)[,kid:base64(SPKI)…]`: the NCO keys a device trusts, by key id. */
export function parseTrustedKeys(spec: string): Map<string, KeyObject> {
  const out = new Map<string, KeyObject>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [kid, der] = splitSpec(part, 'trusted key');
    let key: KeyObject;
    try {
      key = createPublicKey({ key: der, format: 'der', type: 'spki' });
    } catch {
      throw new Error(`trusted key ${kid}: not an SPKI public key`);
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`trusted key ${kid}: expected ed25519, got ${key.asymmetricKeyType}`);
    if (out.has(kid)) throw new Error(`trusted key ${kid} is listed twice`);
    out.set(kid, key);
  }
  return out;
}

/** The public half of a signing key as a DCA_TRUSTED_KEYS entry. */
export function publicSpecOf(key: SigningKey): string {
  return `${key.kid}:${key.publicKey.export({ format: 'der', type: 'spki' }).toString('base64')}`;
}
