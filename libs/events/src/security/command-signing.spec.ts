import { makeEnvelope } from '../envelope';
import { CommandRefusal, CommandSigner, CommandVerifier, isDeviceCommand } from './command-signing';
import { generateSigningKey, parseSigningKey, parseTrustedKeys } from './signing-keys';

const nco = generateSigningKey('nco-1');
const other = generateSigningKey('nco-2');
const T0 = Date.parse('2026-11-24T12:00:00Z');

function setup(trusted = nco.publicSpec, now = () => T0) {
  const signer = new CommandSigner(parseSigningKey(nco.privateSpec));
  const verifier = new CommandVerifier({ trusted: parseTrustedKeys(trusted), windowMs: 60_000, maxNonces: 3, now });
  const command = (hostId = 7, body: unknown = { moduleId: 3 }, issuedAt = new Date(T0)) =>
    JSON.parse(JSON.stringify(signer.sign(makeEnvelope('dca.cmd.revoke', body, { hostId, issuedAt }), `nco.dev.${hostId}.cmd.revoke`)));
  const refusal = (raw: unknown, subject = 'nco.dev.7.cmd.revoke', hostId = 7) => {
    try {
      verifier.check(raw, subject, hostId);
      return 'accepted';
    } catch (e) {
      if (e instanceof CommandRefusal) return e.kind;
      throw e;
    }
  };
  return { signer, verifier, command, refusal };
}

describe('command signing', () => {
  it('signs only device commands', () => {
    expect(isDeviceCommand('dca.cmd.install')).toBe(true);
    expect(isDeviceCommand('dca.report')).toBe(false);
    expect(isDeviceCommand('nco.cmd.revoke')).toBe(false);
  });

  it('accepts a signed, fresh command for this host once', () => {
    const t = setup();
    const cmd = t.command();
    expect(cmd.sig).toMatchObject({ kid: 'nco-1', alg: 'ed25519' });
    expect(t.refusal(cmd)).toBe('accepted');
    expect(t.refusal(cmd)).toBe('replayed');
  });

  it('refuses an unsigned command', () => {
    expect(setup().refusal(makeEnvelope('dca.cmd.revoke', { moduleId: 3 }, { hostId: 7, issuedAt: new Date(T0) }))).toBe('unsigned');
  });

  it('refuses a key it does not trust, and accepts both keys during a rotation', () => {
    const t = setup(other.publicSpec);
    expect(t.refusal(t.command())).toBe('untrusted_key');
    const both = setup(`${other.publicSpec},${nco.publicSpec}`);
    expect(both.refusal(both.command())).toBe('accepted');
  });

  it('refuses a tampered body, host id, subject or issue time', () => {
    const t = setup();
    const body = t.command();
    body.body.moduleId = 4;
    expect(t.refusal(body)).toBe('bad_signature');
    const host = t.command();
    host.hostId = 8;
    expect(t.refusal(host, 'nco.dev.8.cmd.revoke', 8)).toBe('bad_signature');
    expect(t.refusal(t.command(), 'nco.dev.7.cmd.install')).toBe('bad_signature');
    const late = t.command();
    late.issuedAt = new Date(T0 + 1000).toISOString();
    expect(t.refusal(late)).toBe('bad_signature');
  });

  it('refuses a validly signed command for another host', () => {
    const t = setup();
    expect(t.refusal(t.command(8), 'nco.dev.8.cmd.revoke', 7)).toBe('wrong_host');
  });

  it('refuses commands issued outside the window, either way', () => {
    const t = setup();
    expect(t.refusal(t.command(7, { moduleId: 3 }, new Date(T0 - 61_000)))).toBe('expired');
    expect(t.refusal(t.command(7, { moduleId: 3 }, new Date(T0 + 61_000)))).toBe('expired');
    expect(t.refusal(t.command(7, { moduleId: 3 }, new Date(T0 - 59_000)))).toBe('accepted');
  });

  it('forgets nonces outside the window, and refuses when full of live ones', () => {
    let now = T0;
    const t = setup(nco.publicSpec, () => now);
    for (let i = 0; i < 3; i++) expect(t.refusal(t.command())).toBe('accepted');
    expect(t.refusal(t.command())).toBe('replay_cache_full');
    now = T0 + 61_000; // the first three expired; a fresh command gets a place
    expect(t.refusal(t.command(7, { moduleId: 3 }, new Date(now)))).toBe('accepted');
  });

  it('refuses keys that are not Ed25519 or not well formed', () => {
    expect(() => parseTrustedKeys('k1:AAAA')).toThrow('not an SPKI public key');
    expect(() => parseTrustedKeys('bad id:AAAA')).toThrow('kid:base64');
    expect(() => parseSigningKey(nco.publicSpec)).toThrow('not a PKCS#8 private key');
    expect(() => parseTrustedKeys(`${nco.publicSpec},${nco.publicSpec}`)).toThrow('listed twice');
  });
});
