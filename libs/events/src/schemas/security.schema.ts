import { z } from 'zod';
import { HostId, ModuleId, OperationId } from '../envelope';

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`), `expected ${bytes} bytes as lowercase hex`);

/**
 * The security challenge (docs/security.md, apps/dca/README.md): `msg` = AES-256-CBC(module key,
 * iv, 8 random bytes, PKCS#7), both 16 bytes in hex. `id` is the module id.
 */
export const ChallengeCommand = z.object({ id: ModuleId, iv: hex(16), msg: hex(16) });
export type ChallengeCommand = z.infer<typeof ChallengeCommand>;

/**
 * The module's answer, `Response` = AES-256-CBC(key, IV, the 8 bytes ‖ ascii(module id)). Only
 * bounded here: the NCO's check decides, so a malformed answer is a failed challenge, not a dropped message.
 */
export const ChallengeAnswer = z.object({ IV: z.string().max(128), Response: z.string().max(512) });
export type ChallengeAnswer = z.infer<typeof ChallengeAnswer>;

export const ChallengeFailure = z.enum(['wrong_answer', 'malformed', 'timeout', 'refused']);

/** A deployment failed its challenge: the module is being revoked (operationId) and this says why. */
export const ChallengeFailedBody = z.object({
  hostId: HostId,
  moduleId: ModuleId,
  moduleName: z.string().max(128).nullable(),
  failure: ChallengeFailure,
  reason: z.string().max(2048),
  operationId: OperationId,
});
export type ChallengeFailedBody = z.infer<typeof ChallengeFailedBody>;

const SpkiB64 = z.string().min(40).max(200).regex(/^[A-Za-z0-9+/=]+$/, 'expected a base64 SPKI public key');

/** What a DCA presents at check-in (docs/security.md): its public keys, and a bootstrap-token proof when it has a token. */
export const DeviceIdentityClaim = z.object({
  signKey: SpkiB64,
  encKey: SpkiB64,
  /** base64 HMAC-SHA256(bootstrap token, signKey). */
  enrollProof: z.string().max(100).optional(),
});
export type DeviceIdentityClaim = z.infer<typeof DeviceIdentityClaim>;

export const DeviceState = z.enum(['pending', 'approved', 'revoked']);

export const DeviceSummary = z.object({
  mac: z.string(),
  hostId: HostId.nullable(),
  fingerprint: z.string(),
  state: DeviceState,
  enrolledBy: z.enum(['token', 'operator']).nullable(),
  createdAt: z.string(),
  approvedAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
});
export type DeviceSummary = z.infer<typeof DeviceSummary>;

export const DevicesListBody = z.object({ state: DeviceState.optional(), limit: z.number().int().min(1).max(10_000).default(1000) });
export const DevicesListReply = z.object({ devices: z.array(DeviceSummary), total: z.number().int() });
/** A device by MAC or by fingerprint (16 hex digits). */
export const DeviceSelectBody = z.object({ device: z.string().min(1).max(64), reason: z.string().max(512).optional() });
export const DeviceChangeReply = z.object({ device: DeviceSummary });
