import { z } from 'zod';
import { ConfigError } from '../runtime';
import { CommandGuard, SignedCommandGuard } from './command-guard';

const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');

/** Device-side security settings, shared by the DCA and the fleet simulator (docs/security.md). */
export const DcaSecuritySettings = z.object({
  /** NCO public keys the device trusts, `kid:base64(SPKI)[,kid:…]` (two during a key rotation). */
  DCA_TRUSTED_KEYS: z.string().min(1).optional(),
  /** Development only: accept unsigned commands when no DCA_TRUSTED_KEYS are set. */
  DCA_ALLOW_UNSIGNED: bool.default(false),
  /** A command is accepted while its issuedAt is within this many ms of the device's clock. */
  DCA_COMMAND_WINDOW_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(120_000),
  /** Nonces remembered for replay detection: at least the commands a device (or fleet) gets per window. */
  DCA_REPLAY_CACHE_SIZE: z.coerce.number().int().min(100).max(10_000_000).default(100_000),
  /** Bootstrap token shared with the NCO (NCO_ENROLL_TOKEN): proven at the first check-in, so no operator approval is needed. */
  DCA_ENROLL_TOKEN: z.string().min(16).optional(),
});
export type DcaSecurityConfig = z.infer<typeof DcaSecuritySettings>;

/** The guard the settings ask for; no guard only when unsigned commands are explicitly allowed. */
export function commandGuardFrom(c: DcaSecurityConfig): CommandGuard | undefined {
  if (!c.DCA_TRUSTED_KEYS) {
    if (c.DCA_ALLOW_UNSIGNED) return undefined;
    throw new ConfigError(['DCA_TRUSTED_KEYS: not set (the NCO public keys this device trusts); set DCA_ALLOW_UNSIGNED=true only for development']);
  }
  try {
    return new SignedCommandGuard({ trustedKeys: c.DCA_TRUSTED_KEYS, windowMs: c.DCA_COMMAND_WINDOW_MS, replayCacheSize: c.DCA_REPLAY_CACHE_SIZE });
  } catch (e) {
    throw new ConfigError([`DCA_TRUSTED_KEYS: ${(e as Error).message}`]);
  }
}
