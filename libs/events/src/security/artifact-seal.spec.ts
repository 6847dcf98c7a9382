import { randomBytes } from 'node:crypto';
import { ephemeralKey, openArtifact, sealArtifact } from './artifact-seal';
import { generateDeviceKeys } from './device-keys';

describe('sealed artifacts', () => {
  const device = generateDeviceKeys();
  const other = generateDeviceKeys();
  const artifact = randomBytes(8232);
  const ctx = { hostId: 7, moduleId: 3, sha256: 'ab'.repeat(32) };
  const pub = (k: typeof device) => require('node:crypto').createPublicKey(k.enc);

  it('opens only with the device key, for the same host, module and sha256', () => {
    const sealed = sealArtifact(artifact, pub(device), ctx);
    expect(openArtifact(sealed, device.enc, ctx).equals(artifact)).toBe(true);
    expect(() => openArtifact(sealed, other.enc, ctx)).toThrow();
    expect(() => openArtifact(sealed, device.enc, { ...ctx, hostId: 8 })).toThrow();
    expect(() => openArtifact(sealed, device.enc, { ...ctx, moduleId: 4 })).toThrow();
  });

  it('refuses a single flipped bit', () => {
    const sealed = sealArtifact(artifact, pub(device), ctx);
    const ct = Buffer.from(sealed.ct, 'base64');
    ct[10] ^= 1;
    expect(() => openArtifact({ ...sealed, ct: ct.toString('base64') }, device.enc, ctx)).toThrow();
  });

  it('costs well under a millisecond per host for an 8 KB module', () => {
    const key = pub(device);
    const der = key.export({ format: 'der', type: 'spki' });
    const eph = ephemeralKey(); // one per batch, as deploy-svc does
    const n = 300;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sealArtifact(artifact, key, ctx, der, eph);
    const sealUs = Number(process.hrtime.bigint() - t0) / 1000 / n;
    const sealed = sealArtifact(artifact, key, ctx);
    const t1 = process.hrtime.bigint();
    const own = Buffer.from(device.encPublic, 'base64');
    for (let i = 0; i < n; i++) openArtifact(sealed, device.enc, ctx, own);
    const openUs = Number(process.hrtime.bigint() - t1) / 1000 / n;
    process.stdout.write(`seal ${sealUs.toFixed(0)} µs/host, open ${openUs.toFixed(0)} µs/device (8232-byte module)\n`);
    expect(sealUs).toBeLessThan(5_000);
  });
});
