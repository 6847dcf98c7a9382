import { fromPublic, fromSeed } from '@nats-io/jwt';
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { natsUserKeyOfDevice, natsUserSeedOfDevice } from './device-nkey';

describe('a device identity as a NATS user nkey', () => {
  it.each([1, 2, 3, 4, 5])('seed and public key agree with the nkeys library, and signatures verify with the identity key (%p)', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64');
    const seed = natsUserSeedOfDevice(privateKey);
    const user = natsUserKeyOfDevice(spki);
    expect(seed).toMatch(/^SU[A-Z2-7]{56}$/);
    expect(user).toMatch(/^U[A-Z2-7]{55}$/);
    const kp = fromSeed(new TextEncoder().encode(seed));
    expect(kp.getPublicKey()).toBe(user);
    expect(fromPublic(user).getPublicKey()).toBe(user);
    const nonce = Buffer.from('server nonce');
    expect(verify(null, nonce, createPublicKey(privateKey), Buffer.from(kp.sign(nonce)))).toBe(true);
  });

  it('refuses a key that is not Ed25519', () => {
    expect(() => natsUserSeedOfDevice(generateKeyPairSync('x25519').privateKey)).toThrow(/Ed25519/);
  });
});
