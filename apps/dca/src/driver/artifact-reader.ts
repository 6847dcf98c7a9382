import { isNcoError, NcoBlockContent, PRIORITY_MAX, PRIORITY_MIN, readNcoBlock } from '@nco/events';
import { createHash } from 'node:crypto';
import { DriverError } from './driver';

/** What a device learns from an artifact before loading it: its NCO block, its hash and size. */
export interface ArtifactInfo {
  moduleId: number;
  /** The module's 32-byte key as 64 hex digits. Never log it. */
  hexKey: string;
  activate: 0 | 1;
  priority: number;
  applyNow: boolean;
  sha256: string;
  size: number;
}

/**
 * Reads the NCO block the NCO stamped into a module (libs/events artifact contract) and checks
 * that it is a stamped block for `expectedModuleId` with values the core accepts. The device
 * learns the module id, key, active mode, priority and applyNow from the artifact itself, never
 * from a side channel: a message can only say which module it means, and that must agree.
 * `knownSha256`: the artifact's hash when the caller has just computed it.
 */
export function readArtifact(artifact: Buffer, expectedModuleId: number, knownSha256?: string): ArtifactInfo {
  if (artifact.length === 0) throw new DriverError('artifact is empty');
  let block: NcoBlockContent;
  try {
    block = readNcoBlock(artifact);
  } catch (e) {
    // ElfFormatError / NcoBlockError: their text already says what is wrong with the file.
    if (isNcoError(e)) throw new DriverError(e.message);
    throw e;
  }
  if (!block.stamped) throw new DriverError('artifact is an unstamped template (module id 0 in its NCO block)');
  if (block.moduleId !== expectedModuleId) throw new DriverError(`artifact is for module ${block.moduleId}, not ${expectedModuleId}`);
  if (!Number.isInteger(block.priority) || block.priority < PRIORITY_MIN || block.priority > PRIORITY_MAX) {
    throw new DriverError(`artifact's NCO block has priority ${block.priority}, not in ${PRIORITY_MIN}..${PRIORITY_MAX}`);
  }
  return {
    moduleId: block.moduleId,
    hexKey: block.hexKey,
    activate: block.activate,
    priority: block.priority,
    applyNow: block.applyNow,
    sha256: knownSha256 ?? createHash('sha256').update(artifact).digest('hex'),
    size: artifact.length,
  };
}
