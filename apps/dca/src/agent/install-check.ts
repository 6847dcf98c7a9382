import { InstallCommand, NcoError } from '@nco/events';
import { createHash } from 'node:crypto';
import { ArtifactInfo, readArtifact } from '../driver/artifact-reader';
import { DriverError, ModuleParams } from '../driver/driver';
import { validateModuleParams } from '../driver/module-params';

export interface CheckedInstall {
  artifact: Buffer;
  info: ArtifactInfo;
  params: ModuleParams;
}

/**
 * Everything an install command must satisfy before the driver sees it: the artifact decodes,
 * has the announced size and sha256, carries a stamped NCO block for the announced module id,
 * and the module parameters are simple scalars. Throws an NcoError (`invalid_request`) that
 * says what was wrong; nothing on the device has changed by then.
 */
export function checkInstall(cmd: InstallCommand, opened?: Buffer): CheckedInstall {
  // `opened`: the artifact the agent decrypted from `sealed` (apps/dca/src/security/artifact-open.ts).
  const artifact = opened ?? Buffer.from(cmd.artifactBase64 ?? '', 'base64');
  // Buffer.from skips characters that are not base64; only canonical base64 encodes back the same
  // (and this costs a fifth of a regular expression over the text).
  if (!opened && artifact.toString('base64') !== cmd.artifactBase64) throw new NcoError('invalid_request', 'artifactBase64 is not valid base64');
  if (artifact.length !== cmd.size) throw new NcoError('invalid_request', `artifact is ${artifact.length} bytes, the command says ${cmd.size}`);
  const sha256 = createHash('sha256').update(artifact).digest('hex');
  if (sha256 !== cmd.sha256) throw new NcoError('invalid_request', `artifact sha256 is ${sha256}, the command says ${cmd.sha256}`);
  try {
    return { artifact, info: readArtifact(artifact, cmd.moduleId, sha256), params: validateModuleParams(cmd.params) };
  } catch (e) {
    if (e instanceof DriverError) throw new NcoError('invalid_request', e.message);
    throw e;
  }
}
