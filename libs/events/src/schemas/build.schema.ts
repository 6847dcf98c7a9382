import { z } from 'zod';
import { HostId, ModuleId, OperationId } from '../envelope';
import { KernelRelease, Labels } from './common.schema';
import { ModuleName, ParamValue } from './catalog.schema';

/** Which hosts an operator command targets: a list, a label selector, or every host. */
export const HostTarget = z
  .object({
    hostIds: z.array(HostId).min(1).max(100_000).optional(),
    labels: Labels.optional(),
    all: z.literal(true).optional(),
  })
  .strict()
  .refine((t) => [t.hostIds, t.labels, t.all].filter((x) => x !== undefined).length === 1, 'give exactly one of hostIds, labels or all');
export type HostTarget = z.infer<typeof HostTarget>;

export const Toolchain = z.enum(['stamp', 'kbuild']);

/**
 * How often security-svc challenges a deployment, when the operator sets it per deploy (else
 * security-svc's CHALLENGE_WINDOW_S). 1 s .. 30 days, stored as whole seconds (rounded up).
 */
export const SECURITY_WINDOW_MS = { min: 1_000, max: 30 * 86_400_000 } as const;
export const SecurityWindowMs = z.number().int().min(SECURITY_WINDOW_MS.min).max(SECURITY_WINDOW_MS.max);

export const BuildRequestBody = z
  .object({
    module: ModuleName,
    target: HostTarget,
    activeMode: z.union([z.literal(0), z.literal(1)]).optional(),
    /** Omitted: a random free priority per host (1..65534), as the prototype did. */
    priority: z.number().int().min(1).max(65534).optional(),
    applyNow: z.boolean().default(true),
    params: z.record(z.string(), ParamValue).default({}),
    /** stamp = compile once per kernel flavor and stamp each host; kbuild = one compile per host. */
    toolchain: Toolchain.default('stamp'),
    /** As in the brief, a built module is to be installed as soon as possible; false builds only. */
    install: z.boolean().default(true),
    /** Challenge each new deployment this often (ms); omitted: security-svc's default window. */
    securityWindowMs: SecurityWindowMs.optional(),
  })
  .strict();
export type BuildRequestBody = z.infer<typeof BuildRequestBody>;

export const OperationAccepted = z.object({
  operationId: OperationId,
  targetCount: z.number().int().min(1),
  /** Targets already in the desired state (e.g. the module is deployed there): counted as succeeded. */
  alreadyDone: z.number().int().min(0).optional(),
});

export const BuildsListBody = z
  .object({
    hostId: HostId.optional(),
    module: ModuleName.optional(),
    operationId: OperationId.optional(),
    limit: z.number().int().min(1).max(10_000).default(100),
  })
  .strict();

export const BuiltModuleSummary = z.object({
  hostId: HostId,
  moduleId: ModuleId,
  moduleName: z.string(),
  activeMode: z.number(),
  priority: z.number(),
  applyNow: z.boolean(),
  artifactSha256: z.string().nullable(),
  artifactSize: z.number().nullable(),
  reqInstall: z.boolean(),
  builtAt: z.string(),
  operationId: z.string().nullable(),
});

export const BuildErrorSummary = z.object({
  id: z.string(),
  hostId: HostId.nullable(),
  moduleName: z.string(),
  release: z.string().nullable(),
  error: z.string(),
  operationId: z.string().nullable(),
  createdAt: z.string(),
});

export const QueueCounts = z.record(z.string(), z.number());

export const BuildsListReply = z.object({
  builds: z.array(BuiltModuleSummary),
  errors: z.array(BuildErrorSummary),
  queue: QueueCounts,
  failedJobs: z.array(z.object({ id: z.string(), name: z.string(), reason: z.string(), attempts: z.number(), finishedAt: z.string().nullable() })),
});

export const SymversReply = z.object({
  release: KernelRelease,
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  contentBase64: z.string().max(16 * 1024 * 1024),
});

export const BuildEventBody = z.object({
  operationId: OperationId,
  module: z.string(),
  release: z.string(),
  flavor: z.string(),
  hostCount: z.number().int(),
  compiled: z.boolean(),
  durationMs: z.number(),
  error: z.string().optional(),
});

export const OperationGetBody = z.object({ operationId: OperationId }).strict();
export const OperationSummary = z.object({
  id: z.string(),
  kind: z.string(),
  status: z.string(),
  targetCount: z.number(),
  pending: z.number(),
  succeeded: z.number(),
  failed: z.number(),
  error: z.string().nullable(),
  params: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
});
export type OperationSummary = z.infer<typeof OperationSummary>;
export const OperationProgressBody = OperationSummary;

/** Why hosts failed in an operation (newest first, one row per host and module). */
export const OperationFailure = z.object({
  hostId: z.number().nullable(),
  moduleId: z.number().nullable(),
  kind: z.string(),
  reason: z.string(),
  at: z.string(),
});
export type OperationFailure = z.infer<typeof OperationFailure>;
export const OperationDetail = OperationSummary.extend({ failures: z.array(OperationFailure) });
export type OperationDetail = z.infer<typeof OperationDetail>;

/** The CIB's operation row as operators see it (dates as ISO strings). */
export function operationSummary(op: {
  id: string; kind: string; status: string; targetCount: number; pending: number; succeeded: number; failed: number;
  error: string | null; params: Record<string, unknown>; createdAt: Date; updatedAt: Date; finishedAt: Date | null;
}): OperationSummary {
  return {
    id: op.id,
    kind: op.kind,
    status: op.status,
    targetCount: op.targetCount,
    pending: op.pending,
    succeeded: op.succeeded,
    failed: op.failed,
    error: op.error,
    params: op.params,
    createdAt: op.createdAt.toISOString(),
    updatedAt: op.updatedAt.toISOString(),
    finishedAt: op.finishedAt?.toISOString() ?? null,
  };
}
