import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { issueChallenge, judgeChallengeAnswer } from './challenge';

/** What a module does (apps/dca/README.md): decrypt the nonce, answer nonce ‖ ascii(id) under a fresh IV. */
function answer(key: Buffer, body: { id: number; iv: string; msg: string }, id = body.id) {
  const d = createDecipheriv('aes-256-cbc', key, Buffer.from(body.iv, 'hex'));
  const nonce = Buffer.concat([d.update(Buffer.from(body.msg, 'hex')), d.final()]);
  const iv = randomBytes(16);
  const c = createCipheriv('aes-256-cbc', key, iv);
  const response = Buffer.concat([c.update(Buffer.concat([nonce, Buffer.from(String(id))])), c.final()]);
  return { IV: iv.toString('hex'), Response: response.toString('hex') };
}

describe('security challenge (NCO side)', () => {
  const key = randomBytes(32);

  it('issues 16-byte iv and msg, and accepts the module\'s answer', () => {
    const c = issueChallenge(key, 513);
    expect(c.body).toMatchObject({ id: 513, iv: expect.stringMatching(/^[0-9a-f]{32}$/), msg: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(judgeChallengeAnswer(key, c.nonce, 513, answer(key, c.body))).toEqual({ ok: true });
  });

  it('refuses an answer naming another module id, or under another key', () => {
    const c = issueChallenge(key, 513);
    expect(judgeChallengeAnswer(key, c.nonce, 513, answer(key, c.body, 514))).toMatchObject({ ok: false, failure: 'wrong_answer' });
    const other = randomBytes(32);
    const forged = answer(other, issueChallenge(other, 513).body);
    expect(judgeChallengeAnswer(key, c.nonce, 513, forged)).toMatchObject({ ok: false, failure: 'wrong_answer' });
  });

  it('calls malformed hex malformed', () => {
    const c = issueChallenge(key, 1);
    expect(judgeChallengeAnswer(key, c.nonce, 1, { IV: 'xyz', Response: '00'.repeat(16) })).toMatchObject({ failure: 'malformed' });
    expect(judgeChallengeAnswer(key, c.nonce, 1, { IV: '00'.repeat(16), Response: 'abc' })).toMatchObject({ failure: 'malformed' });
  });
});
