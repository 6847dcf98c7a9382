import { Logger } from 'pino';
import { ConfigError } from './runtime';

/** Reports a bad setting the way every NCO process does: a message naming it, exit code 2. */
export function exitOnConfigError(program: string, e: unknown): never {
  if (e instanceof ConfigError) {
    process.stderr.write(`${program}: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`${program}: failed to start: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
}

/** On SIGTERM/SIGINT runs `stop` once, bounded by `timeoutMs`, then exits 0 (1 if it failed). */
export function onShutdown(log: Logger, stop: () => Promise<void>, timeoutMs = 15_000): void {
  let stopping = false;
  const handler = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown timed out, exiting');
      process.exit(1);
    }, timeoutMs).unref();
    stop().then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (e) => {
        log.error({ err: e }, 'shutdown failed');
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handler('SIGTERM'));
  process.on('SIGINT', () => handler('SIGINT'));
}
