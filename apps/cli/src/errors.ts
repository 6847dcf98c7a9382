import { isNcoError } from '@nco/events';
import { ConfigError } from './settings';

/** Exit codes: 0 ok, 1 the command failed, 2 the command line or a setting was wrong. */
export const ExitCode = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure the CLI explains itself: one line, no stack, and the exit code to use. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = ExitCode.failed,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A wrong argument that commander's own parsing could not catch (e.g. a bad `--label`). */
export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.usage);
}

/**
 * Any error as one line for stderr, and its exit code. NcoError replies keep their code so a
 * script can tell `not_found` from `unavailable`; anything unexpected still fits on one line.
 */
export function describeError(e: unknown): { line: string; exitCode: number } {
  if (e instanceof CliError) return { line: e.message, exitCode: e.exitCode };
  if (isNcoError(e)) return { line: `${e.code}: ${e.message}`, exitCode: ExitCode.failed };
  if (e instanceof ConfigError) return { line: `invalid configuration: ${e.problems.join('; ')}`, exitCode: ExitCode.usage };
  const message = e instanceof Error ? e.message : String(e);
  return { line: message.split('\n')[0] || 'unexpected error', exitCode: ExitCode.failed };
}
