import { deriveDeviceKeys, enrollmentProof, checkEnrollmentProof, makeEnvelope, publicKeyFrom, signDeviceEnvelope, verifyDeviceEnvelope } from '@nco/events';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateIdentity } from './identity';

describe('device identity', () => {
  it('is created once in the state dir (0600) and loaded again', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'dca-id-')), 'state');
    const first = await loadOrCreateIdentity(dir);
    expect(first.created).toBe(true);
    expect(statSync(join(dir, 'identity.json')).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateIdentity(dir);
    expect(again).toMatchObject({ created: false, keys: { fingerprint: first.keys.fingerprint, encPublic: first.keys.encPublic } });
  });

  it('refuses a damaged identity file rather than silently making a new identity', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dca-id-'));
    writeFileSync(join(dir, 'identity.json'), '{"v":1,"sign":"AAAA","enc":"AAAA"}');
    await expect(loadOrCreateIdentity(dir)).rejects.toThrow(/device identity .*identity\.json/);
  });

  it('fleet identities derive from the seed and the MAC: stable, and different per device', () => {
    const seed = Buffer.alloc(32, 7);
    expect(deriveDeviceKeys(seed, '02:00:00:00:00:01').fingerprint).toBe(deriveDeviceKeys(seed, '02:00:00:00:00:01').fingerprint);
    expect(deriveDeviceKeys(seed, '02:00:00:00:00:01').fingerprint).not.toBe(deriveDeviceKeys(seed, '02:00:00:00:00:02').fingerprint);
  });

  it('signs envelopes the NCO verifies whatever key order the body has; another subject or body fails', () => {
    const keys = deriveDeviceKeys(Buffer.alloc(32, 1), 'a');
    const env = signDeviceEnvelope(makeEnvelope('dca.report', { seq: 1, reason: 'change', kernel: { Installed: [], Deprecated: [], Revoked: [] } }, { hostId: 3 }), 'nco.dev.3.report', keys);
    const key = publicKeyFrom(keys.signPublic, 'ed25519');
    const reordered = { ...env, body: { kernel: env.body.kernel, reason: 'change', seq: 1 } };
    expect(verifyDeviceEnvelope(reordered, 'nco.dev.3.report', key)).toBe(true);
    expect(verifyDeviceEnvelope(env, 'nco.dev.4.report', key)).toBe(false);
    expect(verifyDeviceEnvelope({ ...env, body: { ...env.body, seq: 2 } }, 'nco.dev.3.report', key)).toBe(false);
  });

  it('proves the bootstrap token without sending it', () => {
    const keys = deriveDeviceKeys(Buffer.alloc(32, 2), 'b');
    const proof = enrollmentProof('a-long-bootstrap-token', keys.signPublic);
    expect(proof).not.toContain('bootstrap');
    expect(checkEnrollmentProof('a-long-bootstrap-token', keys.signPublic, proof)).toBe(true);
    expect(checkEnrollmentProof('another-token-entirely', keys.signPublic, proof)).toBe(false);
  });
});
