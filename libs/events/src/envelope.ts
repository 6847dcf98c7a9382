import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Wire format version of the envelope. Bump only for a breaking change of the envelope itself. */
export const ENVELOPE_VERSION = 1 as const;

export const HostId = z.number().int().min(1).max(2_147_483_647);
export const ModuleId = z.number().int().min(1).max(65_535);
export const OperationId = z.uuid();

/**
 * Signature block. Reserved now so that signing (security issue) adds a field value,
 * not a new contract: `kid` names the signing key, `value` is base64 over the canonical bytes.
 */
export const SignatureSchema = z.object({
  kid: z.string().min(1).max(64),
  alg: z.enum(['ed25519', 'hmac-sha256']),
  value: z.string().min(1).max(256),
});

/** Fields every message carries, whatever its body. */
export const EnvelopeHeaderSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  id: z.uuid(),
  type: z.string().min(1).max(64),
  issuedAt: z.iso.datetime({ offset: true }),
  operationId: OperationId.optional(),
  hostId: HostId.optional(),
  nonce: z.string().min(8).max(64).optional(),
  sig: SignatureSchema.optional(),
});
export type EnvelopeHeader = z.infer<typeof EnvelopeHeaderSchema>;

export interface Envelope<B> extends EnvelopeHeader {
  body: B;
}

export function envelopeSchema<B extends z.ZodType>(type: string, body: B) {
  return EnvelopeHeaderSchema.extend({ type: z.literal(type), body });
}

export interface EnvelopeOptions {
  operationId?: string;
  hostId?: number;
  nonce?: string;
  id?: string;
  issuedAt?: Date;
}

export function makeEnvelope<B>(type: string, body: B, opts: EnvelopeOptions = {}): Envelope<B> {
  const env: Envelope<B> = {
    v: ENVELOPE_VERSION,
    id: opts.id ?? randomUUID(),
    type,
    issuedAt: (opts.issuedAt ?? new Date()).toISOString(),
    body,
  };
  if (opts.operationId) env.operationId = opts.operationId;
  if (opts.hostId !== undefined) env.hostId = opts.hostId;
  if (opts.nonce) env.nonce = opts.nonce;
  return env;
}
