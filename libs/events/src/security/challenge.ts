import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The NCO's side of the security challenge (byte layout in apps/dca/README.md):
 *   challenge: iv (16 bytes), msg = AES-256-CBC(key, iv, nonce(8) ‖ PKCS#7)
 *   answer:    IV (16 bytes), Response = AES-256-CBC(key, IV, nonce ‖ ascii(moduleId) ‖ PKCS#7)
 * Every byte string is lowercase hex on the wire.
 */
export interface IssuedChallenge {
  nonce: Buffer;
  body: { id: number; iv: string; msg: string };
}

export function issueChallenge(key: Buffer, moduleId: number): IssuedChallenge {
  const iv = randomBytes(16);
  const nonce = randomBytes(8);
  const c = createCipheriv('aes-256-cbc', key, iv);
  const msg = Buffer.concat([c.update(nonce), c.final()]);
  return { nonce, body: { id: moduleId, iv: iv.toString('hex'), msg: msg.toString('hex') } };
}

export type ChallengeVerdict = { ok: true } | { ok: false; failure: 'malformed' | 'wrong_answer'; reason: string };

/** Checks an answer: well-formed hex of the right sizes, decrypts under the key, holds the nonce then the module id. */
export function judgeChallengeAnswer(key: Buffer, nonce: Buffer, moduleId: number, answer: { IV: string; Response: string }): ChallengeVerdict {
  if (!/^[0-9a-f]{32}$/.test(answer.IV)) return { ok: false, failure: 'malformed', reason: 'answer IV is not 16 bytes of lowercase hex' };
  if (!/^([0-9a-f]{32})+$/.test(answer.Response)) return { ok: false, failure: 'malformed', reason: 'answer Response is not whole AES blocks of lowercase hex' };
  let plain: Buffer;
  try {
    const d = createDecipheriv('aes-256-cbc', key, Buffer.from(answer.IV, 'hex'));
    plain = Buffer.concat([d.update(Buffer.from(answer.Response, 'hex')), d.final()]);
  } catch {
    return { ok: false, failure: 'wrong_answer', reason: 'answer does not decrypt under the module key (bad padding)' };
  }
  const expected = Buffer.concat([nonce, Buffer.from(String(moduleId), 'ascii')]);
  if (!plain.equals(expected)) return { ok: false, failure: 'wrong_answer', reason: 'answer decrypts, but not to the challenge nonce followed by the module id' };
  return { ok: true };
}
