import { createNatsAuth, deriveDeviceKeys, issueDeviceJwt, loadCreds, natsUserKeyOfDevice, newRoleCreds, userIssuer } from '@nco/events';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { natsCredsToUse, saveDeviceCreds } from './nats-creds';

describe('device NATS creds', () => {
  const issuer = userIssuer(createNatsAuth({ resolverDir: 'jwt' }));
  const keys = deriveDeviceKeys(Buffer.alloc(32, 3), '02:00:00:00:00:07');
  const dir = () => mkdtempSync(join(tmpdir(), 'dca-creds-'));

  it('asks for a JWT only on the bootstrap creds, and prefers saved device creds', async () => {
    const d = dir();
    expect(natsCredsToUse(d)).toEqual({ bootstrap: false });
    const boot = join(d, 'bootstrap.creds');
    writeFileSync(boot, (await newRoleCreds(issuer, 'bootstrap')).creds);
    const fleet = join(d, 'fleet.creds');
    writeFileSync(fleet, (await newRoleCreds(issuer, 'fleet')).creds);
    expect(natsCredsToUse(d, boot)).toEqual({ file: boot, bootstrap: true });
    expect(natsCredsToUse(d, fleet)).toEqual({ file: fleet, bootstrap: false });
    const saved = await saveDeviceCreds(d, await issueDeviceJwt(issuer, 7, natsUserKeyOfDevice(keys.signPublic)), keys);
    expect(natsCredsToUse(d, boot)).toEqual({ file: saved, bootstrap: false });
  });

  it('saves the JWT with the seed of the identity key (0600); the creds are the host\'s device user', async () => {
    const d = dir();
    const file = await saveDeviceCreds(d, await issueDeviceJwt(issuer, 7, natsUserKeyOfDevice(keys.signPublic)), keys);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(loadCreds(file).inboxPrefix).toBe('_INBOX_7');
  });

  it('refuses a JWT issued to another key and writes nothing', async () => {
    const d = dir();
    const other = deriveDeviceKeys(Buffer.alloc(32, 4), 'x');
    await expect(saveDeviceCreds(d, await issueDeviceJwt(issuer, 7, natsUserKeyOfDevice(other.signPublic)), keys)).rejects.toThrow(/not this device's key/);
    expect(() => readFileSync(join(d, 'nats.creds'))).toThrow(/ENOENT/);
  });
});
