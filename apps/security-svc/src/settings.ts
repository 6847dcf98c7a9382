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
});
export type SecurityConfig = z.infer<typeof SecuritySettings>;
