import { serviceSettings } from '@nco/runtime';
import { z } from 'zod';

const Base64Key = z
  .string()
  .refine((v) => Buffer.from(v, 'base64').length === 32, 'expected 32 bytes, base64-encoded (openssl rand -base64 32)');

/** `id:base64key` pairs, comma-separated: earlier KEKs kept so their keys can still be unwrapped. */
const PreviousKeks = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
  .pipe(z.array(z.string().regex(/^[A-Za-z0-9._-]{1,32}:.+$/, 'expected id:base64key')));

export const SecuritySettings = serviceSettings(3006).extend({
  /** Key-encryption key wrapping every module key at rest (32 bytes, base64). Required. */
  NCO_KEK: Base64Key,
  NCO_KEK_ID: z.string().regex(/^[A-Za-z0-9._-]{1,32}$/).default('kek-1'),
  NCO_KEK_PREVIOUS: PreviousKeks.default([]),
  /** Default security window: a deployment is challenged again this long after its last check (or its install). */
  CHALLENGE_WINDOW_S: z.coerce.number().int().min(1).max(365 * 86400).default(3600),
  /** How often due challenges are looked for; 0 turns challenges off. */
  CHALLENGE_SWEEP_MS: z.coerce.number().int().min(0).max(3_600_000).default(5_000),
  /** Deployments claimed per sweep (one query), and challenges in flight at once. */
  CHALLENGE_BATCH: z.coerce.number().int().min(1).max(50_000).default(2_000),
  CHALLENGE_CONCURRENCY: z.coerce.number().int().min(1).max(5_000).default(200),
  /** A device that does not answer within this fails its challenge (its module is revoked). */
  CHALLENGE_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5_000),
});
export type SecurityConfig = z.infer<typeof SecuritySettings>;
