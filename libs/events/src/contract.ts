import { z } from 'zod';
import { envelopeSchema } from './envelope';

/**
 * A contract ties a subject to the message type and schema that travel on it.
 * `P` are the subject's parameters (for example a host id); `pattern` is the wildcard a
 * service subscribes to; `params()` reads the parameters back out of a concrete subject.
 */
export interface EventContract<P, B extends z.ZodType> {
  kind: 'event';
  type: string;
  pattern: string;
  subject(params: P): string;
  body: B;
  envelope: ReturnType<typeof envelopeSchema<B>>;
  maxBytes: number;
}

export interface RequestContract<P, B extends z.ZodType, R extends z.ZodType> {
  kind: 'request';
  type: string;
  replyType: string;
  pattern: string;
  subject(params: P): string;
  body: B;
  reply: R;
  envelope: ReturnType<typeof envelopeSchema<B>>;
  replyEnvelope: ReturnType<typeof envelopeSchema<R>>;
  maxBytes: number;
  timeoutMs: number;
}

export type NoParams = void;

interface Common<P> {
  type: string;
  /** A fixed subject, or a template with `{name}` placeholders. */
  subject: string;
  maxBytes?: number;
  _params?: P;
}

const DEFAULT_MAX_BYTES = 64 * 1024;

function compile<P>(template: string): { pattern: string; subject: (p: P) => string } {
  const pattern = template.replace(/\{[a-zA-Z]+\}/g, '*');
  const subject = (params: P) =>
    template.replace(/\{([a-zA-Z]+)\}/g, (_, key: string) => {
      const value = (params as Record<string, unknown> | undefined)?.[key];
      if (value === undefined || value === null || String(value).length === 0 || /[.*> ]/.test(String(value))) {
        throw new Error(`subject ${template}: parameter ${key} is missing or not a single token`);
      }
      return String(value);
    });
  return { pattern, subject };
}

export function defineEvent<P = NoParams, B extends z.ZodType = z.ZodType>(
  def: Common<P> & { body: B },
): EventContract<P, B> {
  return {
    kind: 'event',
    type: def.type,
    body: def.body,
    envelope: envelopeSchema(def.type, def.body),
    maxBytes: def.maxBytes ?? DEFAULT_MAX_BYTES,
    ...compile<P>(def.subject),
  };
}

export function defineRequest<P = NoParams, B extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType>(
  def: Common<P> & { body: B; reply: R; timeoutMs?: number },
): RequestContract<P, B, R> {
  const replyType = `${def.type}.reply`;
  return {
    kind: 'request',
    type: def.type,
    replyType,
    body: def.body,
    reply: def.reply,
    envelope: envelopeSchema(def.type, def.body),
    replyEnvelope: envelopeSchema(replyType, def.reply),
    maxBytes: def.maxBytes ?? DEFAULT_MAX_BYTES,
    timeoutMs: def.timeoutMs ?? 5_000,
    ...compile<P>(def.subject),
  };
}

export type BodyOf<C> = C extends { body: infer B extends z.ZodType } ? z.infer<B> : never;
export type ReplyOf<C> = C extends { reply: infer R extends z.ZodType } ? z.infer<R> : never;
export type ParamsOf<C> = C extends { subject(p: infer P): string } ? P : never;

/** Reads `{name}` parameters back from a concrete subject, e.g. the host id of `nco.dev.42.report`. */
export function subjectToken(subject: string, index: number): string | undefined {
  return subject.split('.')[index];
}
