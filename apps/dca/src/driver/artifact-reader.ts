import { ModuleId } from '@nco/events';
import { DriverError, InstallOptions, ModuleParams } from './driver';

/** What a driver learns from an artifact before loading it. */
export interface ArtifactInfo {
  moduleId: number;
  params: ModuleParams;
}

/**
 * Reads the module id and NCO variables of an artifact. Today they come from the install
 * options; the stamping issue replaces this with a reader over `readNcoBlock()` (libs/events
 * artifact contract), so the device trusts what the NCO stamped rather than what a message claims.
 */
export type ArtifactReader = (artifact: Buffer, opts: InstallOptions) => ArtifactInfo;

export const readFromOptions: ArtifactReader = (artifact, opts) => {
  if (artifact.length === 0) throw new DriverError('artifact is empty');
  if (!ModuleId.safeParse(opts.moduleId).success) throw new DriverError(`module id ${opts.moduleId} is not in 1..65535`);
  return { moduleId: opts.moduleId, params: { ...opts.params } };
};
