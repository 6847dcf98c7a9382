import { createHmac, createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, KeyObject, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Envelope } from '../envelope';
import { commandSigningBytes } from './command-signing';
import { canonicalJson, DEVICE_TAG } from './device-signing';
import { publicKeyFrom } from './device-keys';
import { KEY_ID } from './signing-keys';

/**
 * Report MACs (docs/security.md, "Reports"): a device authenticates its reports with
 * HMAC-SHA256 under K = HKDF(X25519(device enc key, NCO report key), 'nco-report/1', hostId).
 * Only the device (its X25519 private key) and the NCO (the report private key) can compute K,
 * so a report MAC binds the report to the enrolled device like a signature, at a fraction of the cost.
 */
export interface ReportKey {
  kid: string;
  privateKey: KeyObject;
  /** base64 SPKI of the public half: what the check-in reply hands to devices. */
  publicKey: string;
}

export function generateReportKey(kid: string): { kid: string; privateSpec: string } {
  if (!KEY_ID.test(kid)) throw new Error(`report key id ${JSON.stringify(kid)}: letters, digits, . _ - (1..64)`);
  const { privateKey } = generateKeyPairSync('x25519');
  return { kid, privateSpec: `${kid}:${privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')}` };
}

/** `kid:base64(PKCS#8 X25519)[,kid:…]`: the first key is handed to devices, the others are still accepted (rotation). */
export function parseReportKeys(spec: string): ReportKey[] {
  const keys = spec.split(',').map((s) => s.trim()).filter(Boolean).map((part) => {
    const at = part.indexOf(':');
    const kid = part.slice(0, at);
    if (at < 1 || !KEY_ID.test(kid)) throw new Error('report key: expected kid:base64 with a key id of letters, digits, . _ -');
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey({ key: Buffer.from(part.slice(at + 1), 'base64'), format: 'der', type: 'pkcs8' });
    } catch {
      throw new Error(`report key ${kid}: not a PKCS#8 private key`);
    }
    if (privateKey.asymmetricKeyType !== 'x25519') throw new Error(`report key ${kid}: expected x25519, got ${privateKey.asymmetricKeyType}`);
    return { kid, privateKey, publicKey: createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64') };
  });
  if (new Set(keys.map((k) => k.kid)).size !== keys.length) throw new Error('report key: a key id is listed twice');
  return keys;
}

/** NCO_REPORT_KEY, or the file NCO_REPORT_KEY_FILE names; [] when neither is set (reports stay Ed25519-signed). */
export function loadReportKeys(o: { NCO_REPORT_KEY?: string; NCO_REPORT_KEY_FILE?: string }): ReportKey[] {
  if (o.NCO_REPORT_KEY) return parseReportKeys(o.NCO_REPORT_KEY);
  if (o.NCO_REPORT_KEY_FILE) return parseReportKeys(readFileSync(o.NCO_REPORT_KEY_FILE, 'utf8'));
  return [];
}

/** K for one host: either side's X25519 private key with the other side's public key (base64 SPKI). */
export function deriveReportMacKey(ownPrivate: KeyObject, peerPublic: string, hostId: number): Buffer {
  const shared = diffieHellman({ privateKey: ownPrivate, publicKey: publicKeyFrom(peerPublic, 'x25519') });
  return Buffer.from(hkdfSync('sha256', shared, 'nco-report/1', String(hostId), 32));
}

function reportMac(env: Envelope<unknown>, subject: string, key: Buffer): Buffer {
  return createHmac('sha256', key).update(commandSigningBytes(env, subject, canonicalJson(env.body), DEVICE_TAG)).digest();
}

/** MACs a report envelope (same bytes a device signature covers); kid names the NCO report key used. */
export function macDeviceReport<B>(env: Envelope<B>, subject: string, kid: string, key: Buffer): Envelope<B> {
  env.nonce ??= randomBytes(12).toString('base64url');
  env.sig = { kid, alg: 'hmac-sha256', value: reportMac(env as Envelope<unknown>, subject, key).toString('base64') };
  return env;
}

export function verifyReportMac(env: Envelope<unknown>, subject: string, key: Buffer): boolean {
  if (!env.sig || env.sig.alg !== 'hmac-sha256' || !env.nonce || typeof env.sig.value !== 'string') return false;
  const got = Buffer.from(env.sig.value, 'base64');
  const want = reportMac(env, subject, key);
  return got.length === want.length && timingSafeEqual(got, want);
}
