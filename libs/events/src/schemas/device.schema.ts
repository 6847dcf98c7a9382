import { z } from 'zod';
import { HostId, ModuleId } from '../envelope';
import { KernelRelease, MacAddress, MiddleboxType } from './common.schema';
import { DeviceIdentityClaim } from './security.schema';
import { InverseHolding } from './middlebox.schema';

/** Kernel core timestamps are seconds since the epoch (fractions allowed). */
const KernelTs = z.number().nonnegative().max(1e11);

/** One module in the kernel core's report, in the core's own field names. */
export const KernelModuleEntry = z.object({
  ID: ModuleId,
  Activated: z.number().int().min(0).max(1),
  Count: z.number().int().min(0).max(1e9),
  ts: KernelTs,
});
export const KernelRevokedEntry = z.object({ ID: ModuleId, ts: KernelTs });

/** The kernel core's report, relayed verbatim by the DCA. */
export const KernelReport = z.object({
  Installed: z.array(KernelModuleEntry).max(4096),
  Deprecated: z.array(KernelModuleEntry).max(4096),
  Revoked: z.array(KernelRevokedEntry).max(4096),
});
export type KernelReport = z.infer<typeof KernelReport>;
export type KernelModuleEntry = z.infer<typeof KernelModuleEntry>;

export const ReportReason = z.enum(['interval', 'request', 'checkin', 'change']);

export const ReportBody = z.object({
  /** Monotonic per agent run; lets the NCO drop an older report that arrives after a newer one. */
  seq: z.number().int().min(0),
  reason: ReportReason,
  kernel: KernelReport,
  /** Middlebox mode only: the inverse module files the middlebox holds. */
  inverse: z.array(InverseHolding).max(1024).optional(),
});
export type ReportBody = z.infer<typeof ReportBody>;

export const CheckinBody = z.object({
  mac: MacAddress,
  release: KernelRelease,
  ip: z.union([z.ipv4(), z.ipv6()]).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  middleboxType: MiddleboxType.optional(),
  agent: z
    .object({
      version: z.string().max(32),
      driver: z.enum(['simulated', 'linux']),
    })
    .optional(),
  /** The device's public keys (docs/security.md); the check-in envelope is then signed with them. */
  identity: DeviceIdentityClaim.optional(),
  /** Connected with the shared bootstrap NATS creds: asks for its own NATS user JWT (docs/security.md, "NATS permissions"). */
  natsCreds: z.literal(true).optional(),
});
export type CheckinBody = z.infer<typeof CheckinBody>;

export const HostIdMode = z.enum(['random', 'sequential', 'ipv4-octet']);
export type HostIdMode = z.infer<typeof HostIdMode>;

export const CheckinReply = z.object({
  hostId: HostId,
  isNew: z.boolean(),
  reportIntervalMs: z.number().int().min(100),
  /** The device's NATS user JWT, when it asked (natsCreds) and the NCO issues them; its seed is the device's identity key. */
  natsJwt: z.string().min(1).max(8192).optional(),
  /** The NCO's X25519 report key (base64 SPKI), for a device with an identity: its reports are then MAC'ed (docs/security.md, "Reports"). */
  reportKey: z.object({ kid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/), key: z.string().min(1).max(256) }).optional(),
});
export type CheckinReply = z.infer<typeof CheckinReply>;

export const EmptyBody = z.object({}).strict();

/** A device-side refusal or failure the agent reports about itself (bad command, failed write…). */
export const DeviceIncident = z.object({
  kind: z.string().min(1).max(64),
  reason: z.string().max(2048),
  subject: z.string().max(256).optional(),
  messageId: z.string().max(64).optional(),
});
