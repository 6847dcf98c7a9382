import { KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { Envelope } from '../envelope';
import { commandSigningBytes } from './command-signing';
import { DeviceKeys } from './device-keys';

/** Device → NCO messages are signed under their own tag, so a device signature can never pass as a command's. */
export const DEVICE_TAG = 'nco-dev/1';

/** Signs a device's envelope (check-in, report, answer) with its identity key; kid = its fingerprint. */
export function signDeviceEnvelope<B>(env: Envelope<B>, subject: string, keys: DeviceKeys): Envelope<B> {
  env.nonce ??= randomBytes(12).toString('base64url');
  const bytes = commandSigningBytes(env as Envelope<unknown>, subject, canonicalJson(env.body), DEVICE_TAG);
  env.sig = { kid: keys.fingerprint, alg: 'ed25519', value: sign(null, bytes, keys.sign).toString('base64') };
  return env;
}

/** Checks a device's signature over a decoded envelope (the body is hashed in canonical form, so zod's key order does not matter). */
export function verifyDeviceEnvelope(env: Envelope<unknown>, subject: string, key: KeyObject): boolean {
  if (!env.sig || env.sig.alg !== 'ed25519' || !env.nonce) return false;
  try {
    return verify(null, commandSigningBytes(env, subject, canonicalJson(env.body), DEVICE_TAG), key, Buffer.from(env.sig.value, 'base64'));
  } catch {
    return false;
  }
}

/** JSON with object keys sorted at every level: the same bytes whichever order a parser kept. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
