import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, KeyObject, randomBytes } from 'node:crypto';

/**
 * Artifacts sealed to one device (docs/security.md): an ephemeral X25519 key agrees a secret
 * with the device's enrolled X25519 key; HKDF-SHA256 turns it into an AES-256-GCM key bound to
 * both public keys and to (host, module id, sha256), which are also the GCM associated data. Only
 * the device holding the private key can open it, and only as that host's module.
 */
export interface SealedArtifact {
  alg: 'x25519-hkdf-sha256-aes256gcm';
  /** Ephemeral public key, base64 SPKI. */
  epk: string;
  iv: string;
  /** Ciphertext followed by the 16-byte GCM tag, base64. */
  ct: string;
}

export interface SealContext {
  hostId: number;
  moduleId: number;
  sha256: string;
}

const spki = (k: KeyObject): Buffer => k.export({ format: 'der', type: 'spki' });
const aad = (c: SealContext) => Buffer.from(`nco-artifact/1|${c.hostId}|${c.moduleId}|${c.sha256}`);

function deriveKey(shared: Buffer, epk: Buffer, devicePub: Buffer, c: SealContext): Buffer {
  return Buffer.from(hkdfSync('sha256', shared, Buffer.concat([epk, devicePub]), aad(c), 32));
}

/** An ephemeral key pair with its SPKI bytes; one may serve a batch of recipients (each agreement differs by device key). */
export interface EphemeralKey {
  privateKey: KeyObject;
  der: Buffer;
}

export function ephemeralKey(): EphemeralKey {
  const eph = generateKeyPairSync('x25519');
  return { privateKey: eph.privateKey, der: spki(eph.publicKey) };
}

/**
 * Seals `artifact` to a device. `devicePublicDer` (its SPKI bytes) and `eph` spare the key
 * exports that otherwise dominate the cost (deploy-svc passes both: ~80 µs per host).
 */
export function sealArtifact(artifact: Buffer, devicePublic: KeyObject, c: SealContext, devicePublicDer: Buffer = spki(devicePublic), eph: EphemeralKey = ephemeralKey()): SealedArtifact {
  const epk = eph.der;
  const key = deriveKey(diffieHellman({ privateKey: eph.privateKey, publicKey: devicePublic }), epk, devicePublicDer, c);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad(c));
  const ct = Buffer.concat([cipher.update(artifact), cipher.final(), cipher.getAuthTag()]);
  return { alg: 'x25519-hkdf-sha256-aes256gcm', epk: epk.toString('base64'), iv: iv.toString('base64'), ct: ct.toString('base64') };
}

/** Opens an artifact sealed to `devicePrivate`; throws when it was sealed to another key or context, or altered. */
export function openArtifact(sealed: SealedArtifact, devicePrivate: KeyObject, c: SealContext, devicePublicDer: Buffer = spki(createPublicKey(devicePrivate))): Buffer {
  const epkDer = Buffer.from(sealed.epk, 'base64');
  const epk = ephemeralPublic(sealed.epk, epkDer);
  const key = deriveKey(diffieHellman({ privateKey: devicePrivate, publicKey: epk }), epkDer, devicePublicDer, c);
  const ct = Buffer.from(sealed.ct, 'base64');
  if (ct.length < 17) throw new Error('sealed artifact: too short');
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  d.setAAD(aad(c));
  d.setAuthTag(ct.subarray(ct.length - 16));
  return Buffer.concat([d.update(ct.subarray(0, ct.length - 16)), d.final()]);
}

// A batch's installs share one ephemeral key, and parsing a key costs more than the agreement:
// a fleet simulator opening a batch parses it once.
const epkCache = new Map<string, KeyObject>();

function ephemeralPublic(b64: string, der: Buffer): KeyObject {
  let k = epkCache.get(b64);
  if (!k) {
    k = createPublicKey({ key: der, format: 'der', type: 'spki' });
    if (k.asymmetricKeyType !== 'x25519') throw new Error('sealed artifact: the ephemeral key is not X25519');
    if (epkCache.size >= 64) epkCache.clear();
    epkCache.set(b64, k);
  }
  return k;
}
