import { z } from 'zod';

/** Error codes a reply may carry. Stable: scripts and the CLI branch on them. */
export const ErrorCode = z.enum([
  'invalid_message', // not JSON, too large, wrong envelope or body
  'invalid_request', // well-formed but refused by a business rule
  'not_found',
  'conflict',
  'unavailable', // a dependency (database, device) could not be reached; retry later
  'timeout',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBodySchema = z.object({
  code: ErrorCode,
  message: z.string(),
  details: z.unknown().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

export const ERROR_TYPE = 'error';

/** An error that travels: raised by a handler, sent as an `error` reply, raised again by the caller. */
export class NcoError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'NcoError';
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isNcoError(e: unknown): e is NcoError {
  return e instanceof NcoError;
}
