import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Polls `check` until it returns a truthy value (or throws `what` after `timeoutMs`). */
export async function pollUntil<T>(check: () => Promise<T> | T, what: string, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface NatsServerHandle {
  url: string;
  port: number;
  storeDir: string;
  stop(): Promise<void>;
  /** Starts the same server again on the same port and store (for restart tests). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

const NATS_BIN = process.env.NATS_SERVER_BIN || '/usr/sbin/nats-server';

/**
 * A private nats-server with JetStream on a free port, for tests that restart it or need a
 * special configuration. `config` is nats-server configuration text (port and store are added).
 */
export async function startNatsServer(opts: { config?: string; port?: number } = {}): Promise<NatsServerHandle> {
  const port = opts.port ?? (await freePort());
  const storeDir = mkdtempSync(join(tmpdir(), 'nco-nats-'));
  const confPath = join(storeDir, 'server.conf');
  writeFileSync(confPath, `${opts.config ?? ''}\nport: ${port}\nhost: 127.0.0.1\njetstream { store_dir: "${storeDir}/js" }\n`);
  let proc: ChildProcess | undefined;
  const start = async () => {
    proc = spawn(NATS_BIN, ['-c', confPath], { stdio: 'ignore' });
    await pollUntil(
      () =>
        new Promise<boolean>((resolve) => {
          const s = require('node:net').connect({ port, host: '127.0.0.1' }, () => {
            s.destroy();
            resolve(true);
          });
          s.on('error', () => resolve(false));
        }),
      `nats-server on port ${port}`,
      10_000,
    );
  };
  const stop = async () => {
    if (!proc || proc.exitCode !== null) return;
    const p = proc;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGTERM');
    });
  };
  await start();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    close: async () => {
      await stop();
      rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
