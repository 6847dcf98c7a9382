import { BOOTSTRAP_INBOX_PREFIX, credsText, DeviceKeys, loadCreds, natsUserKeyOfDevice, natsUserSeedOfDevice } from '@nco/events';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The device's own NATS creds (docs/security.md, "NATS permissions"): the user JWT the NCO sends
 * at check-in and the seed of the device's identity key, kept in `<state dir>/nats.creds` (0600).
 * A DCA started with the shared bootstrap creds asks for its JWT, saves it and reconnects; later
 * starts use the saved file.
 */
export function deviceCredsPath(stateDir: string): string {
  return join(stateDir, 'nats.creds');
}

/** The creds to connect with: the saved device creds when there are some, else the configured file. */
export function natsCredsToUse(stateDir: string, configured?: string): { file?: string; bootstrap: boolean } {
  const saved = deviceCredsPath(stateDir);
  if (existsSync(saved)) return { file: saved, bootstrap: false };
  if (!configured) return { bootstrap: false };
  return { file: configured, bootstrap: loadCreds(configured).inboxPrefix === BOOTSTRAP_INBOX_PREFIX };
}

/** Writes the device's creds; refuses a JWT issued to another key (it could never connect with it). */
export async function saveDeviceCreds(stateDir: string, jwt: string, keys: DeviceKeys): Promise<string> {
  const claims = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8') || 'null') as { sub?: string } | null;
  const mine = natsUserKeyOfDevice(keys.signPublic);
  if (claims?.sub !== mine) throw new Error(`the NATS JWT from the NCO is for ${claims?.sub ?? 'no key'}, not this device's key ${mine}`);
  const file = deviceCredsPath(stateDir);
  await mkdir(stateDir, { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, credsText(jwt, natsUserSeedOfDevice(keys.sign)), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return file;
}
