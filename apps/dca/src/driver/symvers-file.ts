import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DriverError } from './driver';

/** The recorded Module.symvers of the core stub, relative to the repository root (the usual cwd). */
export const DEFAULT_SYMVERS_FILE = 'modules/core/Module.symvers.recorded';

/**
 * Reads a Module.symvers once and shares the bytes (a fleet's devices all run the same core).
 * A failed read is not cached, so fixing the file needs no restart.
 */
export function symversFromFile(path: string = DEFAULT_SYMVERS_FILE): () => Promise<Buffer> {
  let cached: Promise<Buffer> | undefined;
  return () => {
    cached ??= readFile(resolve(path)).catch((e: NodeJS.ErrnoException) => {
      cached = undefined;
      throw new DriverError(`Module.symvers cannot be read from ${resolve(path)}: ${e.code ?? e.message}`);
    });
    return cached;
  };
}
