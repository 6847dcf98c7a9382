import { z } from 'zod';
import { Envelope, EnvelopeHeaderSchema } from './envelope';
import { NcoError } from './errors';

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export function encode(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/** Renders zod issues as `path: message; …` so a refusal names the field that was wrong. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/**
 * Decodes and validates one message. Every refusal is an `invalid_message` NcoError with a
 * specific reason (size, JSON, envelope, type, body), so callers can reply or log it as is.
 */
export function decodeEnvelope<S extends z.ZodType>(
  data: Uint8Array,
  schema: S,
  maxBytes: number,
): z.infer<S> {
  if (data.byteLength > maxBytes) {
    throw new NcoError('invalid_message', `message is ${data.byteLength} bytes, limit is ${maxBytes}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(decoder.decode(data));
  } catch {
    throw new NcoError('invalid_message', 'message is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const header = EnvelopeHeaderSchema.safeParse(raw);
    const where = header.success ? `${header.data.type} body` : 'envelope';
    throw new NcoError('invalid_message', `invalid ${where}: ${describeIssues(parsed.error)}`);
  }
  return parsed.data;
}

/** Reads envelope fields for log context without trusting the rest of the message. */
export function peekHeader(data: Uint8Array): Partial<Envelope<unknown>> {
  try {
    const raw = JSON.parse(decoder.decode(data));
    return typeof raw === 'object' && raw ? raw : {};
  } catch {
    return {};
  }
}
