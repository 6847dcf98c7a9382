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
