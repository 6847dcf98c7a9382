import { z } from 'zod';
import { HostId, ModuleId } from '../envelope';
import { IsoTime } from './common.schema';

export const HostRegisteredBody = z.object({
  hostId: HostId,
  mac: z.string(),
  release: z.string(),
  middleboxType: z.string().nullable(),
});

/** A host's recorded attributes changed at check-in (kernel release, address). */
export const HostChangedBody = z.object({
  hostId: HostId,
  changes: z.record(z.string(), z.object({ from: z.unknown(), to: z.unknown() })),
});

export const HostLivenessBody = z.object({
  hostId: HostId,
  online: z.boolean(),
  lastSeenAt: IsoTime.nullable(),
});

/**
 * What reconciling a report against the CIB found, one rule of the brief each:
 * installed = a pending install was seen; unknown_module = the device runs a module the NCO never
 * built; missing_module = the CIB expects a module the device no longer reports (host error);
 * revoked = the core revoked a module; recovered = a missing module is reported again.
 */
export const FindingKind = z.enum(['installed', 'unknown_module', 'missing_module', 'revoked', 'recovered']);
export type FindingKind = z.infer<typeof FindingKind>;

export const ReconcileFindingBody = z.object({
  hostId: HostId,
  moduleId: ModuleId,
  kind: FindingKind,
  moduleName: z.string().nullable(),
  at: IsoTime,
});
export type ReconcileFinding = z.infer<typeof ReconcileFindingBody>;
