import { DeviceKeys, InstallCommand, NcoError, openArtifact } from '@nco/events';

/**
 * The device's side of sealed artifacts (docs/security.md), before anything else reads the
 * artifact: a device with an identity accepts only artifacts sealed to it for this host and
 * module; one without an identity cannot open a sealed artifact. Returns the opened bytes, or
 * undefined for a clear artifact the device may take (no identity).
 */
export function openInstallArtifact(cmd: InstallCommand, hostId: number | undefined, keys: DeviceKeys | undefined): Buffer | undefined {
  if (!keys) {
    if (cmd.sealed) throw new NcoError('invalid_request', 'the artifact is sealed, and this device has no identity key to open it');
    return undefined;
  }
  if (!cmd.sealed) throw new NcoError('invalid_request', 'the artifact is not sealed to this device; a device with an identity installs only sealed artifacts');
  try {
    return openArtifact(cmd.sealed, keys.enc, { hostId: hostId ?? 0, moduleId: cmd.moduleId, sha256: cmd.sha256 }, Buffer.from(keys.encPublic, 'base64'));
  } catch {
    throw new NcoError('invalid_request', `the sealed artifact does not open with device ${keys.fingerprint}'s key (sealed for another device or host, or altered)`);
  }
}
