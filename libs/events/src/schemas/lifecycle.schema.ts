import { z } from 'zod';
import { HostId, ModuleId } from '../envelope';
import { IsoTime, Labels } from './common.schema';
import { BuildRequestBody, HostTarget } from './build.schema';
import { ModuleName, ParamValue } from './catalog.schema';

// ---- operator commands -------------------------------------------------------------------

/** Deploy = build a host-unique module for each target host and install it (orchestrator). */
export const DeployBody = BuildRequestBody.omit({ install: true });
export type DeployBody = z.infer<typeof DeployBody>;

/**
 * Which deployed module a lifecycle command acts on: by catalog name on every target host, or by
 * its module id (ids are per host, so only with exactly one host in `target.hostIds`).
 */
const SelectorShape = { target: HostTarget, module: ModuleName.optional(), moduleId: ModuleId.optional() };
type Selected = { target: { hostIds?: number[] }; module?: string; moduleId?: number };
const oneModule = (s: Selected) => (s.module === undefined) !== (s.moduleId === undefined);
const idNeedsOneHost = (s: Selected) => s.moduleId === undefined || s.target.hostIds?.length === 1;
const ONE_MODULE = 'give exactly one of module or moduleId';
const ONE_HOST = 'moduleId needs exactly one host in target.hostIds';

export const ToggleBody = z
  .object({ ...SelectorShape, mode: z.union([z.literal(0), z.literal(1)]) })
  .strict()
  .refine(oneModule, ONE_MODULE)
  .refine(idNeedsOneHost, ONE_HOST);
export const PriorityBody = z
  .object({ ...SelectorShape, priority: z.number().int().min(1).max(65534) })
  .strict()
  .refine(oneModule, ONE_MODULE)
  .refine(idNeedsOneHost, ONE_HOST);
export const DeprecateBody = z.object(SelectorShape).strict().refine(oneModule, ONE_MODULE).refine(idNeedsOneHost, ONE_HOST);
export const RevokeBody = z
  .object({ ...SelectorShape, reason: z.string().max(500).optional() })
  .strict()
  .refine(oneModule, ONE_MODULE)
  .refine(idNeedsOneHost, ONE_HOST);
export type ToggleBody = z.infer<typeof ToggleBody>;
export type PriorityBody = z.infer<typeof PriorityBody>;
export type DeprecateBody = z.infer<typeof DeprecateBody>;
export type RevokeBody = z.infer<typeof RevokeBody>;

/** Rotate: deploy `to`, deprecate `from` once `to` is installed, revoke `from` once drained. */
export const RotateBody = z
  .object({
    target: HostTarget,
    from: ModuleName,
    to: ModuleName,
    activeMode: z.union([z.literal(0), z.literal(1)]).optional(),
    params: z.record(z.string(), ParamValue).default({}),
    /** Revoke the old module after this long even if sockets still use it. */
    drainTimeoutMs: z.number().int().min(0).max(7 * 24 * 3600_000).default(300_000),
  })
  .strict();
export type RotateBody = z.infer<typeof RotateBody>;

export const LabelBody = z
  .object({ hostIds: z.array(HostId).min(1).max(100_000), set: Labels.default({}), remove: z.array(z.string().max(63)).max(32).default([]) })
  .strict()
  .refine((b) => Object.keys(b.set).length + b.remove.length > 0, 'give labels to set or remove');
export const LabelReply = z.object({ updated: z.number().int() });

export const HostModulesBody = z.object({ hostId: HostId }).strict();
export const DeploymentSummary = z.object({
  hostId: HostId,
  moduleId: ModuleId,
  moduleName: z.string(),
  state: z.enum(['pending', 'delivered', 'installed', 'verified', 'failed']),
  activeMode: z.number(),
  priority: z.number(),
  deprecated: z.boolean(),
  socketCount: z.number(),
  reportedAt: IsoTime.nullable(),
  hostErrorAt: IsoTime.nullable(),
  securityCheckedAt: IsoTime.nullable(),
  /** How often security-svc challenges it (seconds); null: security-svc's CHALLENGE_WINDOW_S. */
  securityWindowS: z.number().int().nullable(),
  failureReason: z.string().nullable(),
  operationId: z.string().nullable(),
});
export type DeploymentSummary = z.infer<typeof DeploymentSummary>;
export const HostModulesReply = z.object({
  hostId: HostId,
  deployments: z.array(DeploymentSummary),
  unknown: z.array(z.object({ moduleId: ModuleId, firstSeenAt: IsoTime, lastSeenAt: IsoTime })),
  pending: z.array(z.object({ kind: z.string(), moduleId: z.number().nullable(), state: z.string(), attempts: z.number(), lastError: z.string().nullable() })),
});

export const OperationsListBody = z.object({ limit: z.number().int().min(1).max(1000).default(50) }).strict();

// ---- NCO → device commands ---------------------------------------------------------------

/** The kernel core's answer to a command: Result 0 means it refused. */
export const KernelResult = z.object({ ID: ModuleId, Result: z.union([z.literal(0), z.literal(1)]) });
export type KernelResult = z.infer<typeof KernelResult>;

/** An artifact encrypted to the target device's enrolled X25519 key (libs/events/src/security/artifact-seal.ts). */
export const SealedArtifactSchema = z.object({
  alg: z.literal('x25519-hkdf-sha256-aes256gcm'),
  epk: z.string().max(128),
  iv: z.string().max(32),
  ct: z.string().max(6 * 1024 * 1024),
});
export const InstallCommand = z
  .object({
    moduleId: ModuleId,
    size: z.number().int().min(1).max(4 * 1024 * 1024),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    /** The artifact in clear (a device without an enrolled identity), or… */
    artifactBase64: z.string().max(6 * 1024 * 1024).optional(),
    /** …sealed to the device (docs/security.md). */
    sealed: SealedArtifactSchema.optional(),
    params: z.record(z.string(), ParamValue),
  })
  .refine((c) => (c.artifactBase64 === undefined) !== (c.sealed === undefined), 'exactly one of artifactBase64 and sealed');
export type InstallCommand = z.infer<typeof InstallCommand>;
export const ToggleCommand = z.object({ moduleId: ModuleId, mode: z.union([z.literal(0), z.literal(1)]) });
export const PriorityCommand = z.object({ moduleId: ModuleId, priority: z.number().int().min(1).max(65534) });
export const ModuleCommand = z.object({ moduleId: ModuleId });
