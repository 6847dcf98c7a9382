import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** A key-encryption key: AES-256-GCM, named so a wrapped key records which KEK wrapped it. */
export interface Kek {
  id: string;
  key: Buffer;
}

const IV = 12;
const TAG = 16;

/** iv ‖ tag ‖ ciphertext, bound to the key id (AAD) so a wrapped key cannot be moved to another row. */
export function wrapKey(kek: Kek, keyId: string, key: Buffer): Buffer {
  const iv = randomBytes(IV);
  const c = createCipheriv('aes-256-gcm', kek.key, iv);
  c.setAAD(Buffer.from(keyId));
  const ct = Buffer.concat([c.update(key), c.final()]);
  return Buffer.concat([iv, c.getAuthTag(), ct]);
}

export function unwrapKey(kek: Kek, keyId: string, wrapped: Buffer): Buffer {
  const d = createDecipheriv('aes-256-gcm', kek.key, wrapped.subarray(0, IV));
  d.setAAD(Buffer.from(keyId));
  d.setAuthTag(wrapped.subarray(IV, IV + TAG));
  return Buffer.concat([d.update(wrapped.subarray(IV + TAG)), d.final()]);
}

export function parseKeks(currentId: string, currentB64: string, previous: string[]): { current: Kek; all: Map<string, Kek> } {
  const current = { id: currentId, key: Buffer.from(currentB64, 'base64') };
  const all = new Map<string, Kek>([[current.id, current]]);
  for (const p of previous) {
    const [id, b64] = [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1)];
    const key = Buffer.from(b64, 'base64');
    if (key.length !== 32) throw new Error(`NCO_KEK_PREVIOUS: key ${id} is not 32 bytes`);
    if (!all.has(id)) all.set(id, { id, key });
  }
  return { current, all };
}
