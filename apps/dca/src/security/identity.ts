import { DeviceKeys, exportDeviceKeys, generateDeviceKeys, importDeviceKeys } from '@nco/events';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The DCA's identity keys (docs/security.md), created at its first start and kept in
 * `<state dir>/identity.json` (mode 0600). Losing the file means a new identity: the NCO then
 * refuses the MAC until an operator revokes the old device record and approves the new one.
 */
export async function loadOrCreateIdentity(stateDir: string): Promise<{ keys: DeviceKeys; created: boolean }> {
  const file = join(stateDir, 'identity.json');
  try {
    return { keys: importDeviceKeys(JSON.parse(await readFile(file, 'utf8'))), created: false };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`device identity ${file}: ${(e as Error).message}`);
  }
  const keys = generateDeviceKeys();
  await mkdir(stateDir, { recursive: true });
  const tmp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(exportDeviceKeys(keys)), { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
  return { keys, created: true };
}
