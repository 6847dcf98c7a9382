import { createCipheriv, createDecipheriv } from 'node:crypto';

/**
 * The security challenge's byte layout (apps/dca/README.md, "Security challenge"):
 *
 *   challenge  iv  = 16 bytes (AES block), chosen by the NCO
 *              msg = AES-256-CBC(key, iv, nonce ‖ PKCS#7)       nonce: 8 random bytes → 16 bytes
 *   answer     IV  = 16 fresh random bytes, chosen by the device
 *              Response = AES-256-CBC(key, IV, nonce ‖ ascii(moduleId) ‖ PKCS#7)
 *
 * `ascii(moduleId)` is the module id in decimal ASCII digits, no sign, no leading zeros, no
 * separator and no terminator (module 513 → the 3 bytes "513"), so the plaintext is 9..13 bytes
 * and the Response always 16 bytes. On the wire (netlink and JSON) every byte string is lowercase hex.
 */
export const CHALLENGE_NONCE_BYTES = 8;
export const AES_BLOCK = 16;

/** The plaintext a module answers with: the nonce followed by its id in ASCII decimal. */
export function challengePlaintext(nonce: Buffer, moduleId: number): Buffer {
  return Buffer.concat([nonce, Buffer.from(String(moduleId), 'ascii')]);
}

/** Why an (iv, msg) pair cannot be a challenge, or undefined when its sizes are right. */
export function challengeMessageError(iv: Buffer, msg: Buffer): string | undefined {
  if (!Buffer.isBuffer(iv) || iv.length !== AES_BLOCK) return `challenge iv must be ${AES_BLOCK} bytes, got ${Buffer.isBuffer(iv) ? iv.length : typeof iv}`;
  if (!Buffer.isBuffer(msg) || msg.length !== AES_BLOCK) {
    return `challenge msg must be ${AES_BLOCK} bytes (8 bytes encrypted with PKCS#7 padding), got ${Buffer.isBuffer(msg) ? msg.length : typeof msg}`;
  }
  return undefined;
}

/** The NCO's side, for tests and the security service: a challenge message for `nonce`. */
export function encryptChallenge(key: Buffer, iv: Buffer, nonce: Buffer): Buffer {
  const c = createCipheriv('aes-256-cbc', key, iv);
  return Buffer.concat([c.update(nonce), c.final()]);
}

/** The NCO's check of an answer: it decrypts, and holds the nonce followed by the module id. */
export function checkChallengeAnswer(key: Buffer, nonce: Buffer, moduleId: number, answer: { IV: string; Response: string }): boolean {
  try {
    const d = createDecipheriv('aes-256-cbc', key, Buffer.from(answer.IV, 'hex'));
    const plain = Buffer.concat([d.update(Buffer.from(answer.Response, 'hex')), d.final()]);
    return plain.equals(challengePlaintext(nonce, moduleId));
  } catch {
    return false;
  }
}
