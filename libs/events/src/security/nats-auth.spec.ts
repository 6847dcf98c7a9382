import { createAccount, createUser, decode, fromPublic } from '@nats-io/jwt';
import { createNatsAuth, issueDeviceJwt, natsAuthPublicKeys, userIssuer } from './nats-auth';
import { keyOfSeed } from './nkey-codec';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('user JWTs signed with native Ed25519', () => {
  it('keyOfSeed agrees with the nkeys library', () => {
    for (const kp of [createAccount(), createUser()]) expect(keyOfSeed(text(kp.getSeed())).publicKey).toBe(kp.getPublicKey());
  });

  it('a device JWT decodes, names the account, carries the device rules and verifies with the signing key', async () => {
    const s = createNatsAuth({ resolverDir: '/unused' });
    const device = createUser().getPublicKey();
    const jwt = await issueDeviceJwt(userIssuer(s), 7, device);
    const claims = decode<Record<string, any>>(jwt);
    const keys = natsAuthPublicKeys(s);
    expect(claims).toMatchObject({ name: 'device-7', sub: device, iss: keys.accountSigningKey, jti: expect.stringMatching(/^[A-Z2-7]{52}$/) });
    expect(claims.nats).toMatchObject({ type: 'user', version: 2, issuer_account: keys.account, pub: { allow: expect.arrayContaining(['nco.dev.7.report']) }, sub: { allow: ['nco.dev.7.cmd.>', '_INBOX_7.>'] } });
    const [h, p, sig] = jwt.split('.');
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ typ: 'JWT', alg: 'ed25519-nkey' });
    expect(fromPublic(keys.accountSigningKey).verify(new TextEncoder().encode(`${h}.${p}`), Buffer.from(sig, 'base64url'))).toBe(true);
  });

  it('refuses keys of the wrong kind', async () => {
    const s = createNatsAuth({ resolverDir: '/unused' });
    await expect(issueDeviceJwt(userIssuer(s), 1, natsAuthPublicKeys(s).account)).rejects.toThrow(/user public key/);
    await expect(issueDeviceJwt({ ...userIssuer(s), signingSeed: text(createUser().getSeed()) }, 1, createUser().getPublicKey())).rejects.toThrow(/account signing key/);
  });
});
