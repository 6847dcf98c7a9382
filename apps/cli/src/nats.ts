import { connectNats, NatsBus, silentLogger } from '@nco/events';
import { NatsConnection } from 'nats';
import { CliError } from './errors';
import { CliSettings } from './settings';

export interface CliConnection {
  bus: NatsBus;
  nc: NatsConnection;
  /** The URL(s) the CLI talks to, for messages. */
  url: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** Keep reconnecting after a lost connection (`nco watch`); one-shot commands fail instead. */
  reconnect?: boolean;
}

/**
 * Connects fail-fast (one attempt, a few seconds at most) and turns the client's error codes
 * into one line that says what to do. Logs stay silent: stdout belongs to the command's output.
 */
export async function connectCli(s: CliSettings, opts: ConnectOptions = {}): Promise<CliConnection> {
  const url = s.servers.join(',');
  let nc: NatsConnection;
  try {
    nc = await connectNats(
      {
        servers: s.servers,
        name: `nco-cli@${process.pid}`,
        user: s.user,
        pass: s.pass,
        token: s.token,
        credsFile: s.credsFile,
        failFast: true,
        extra: {
          ...(s.timeoutMs !== undefined ? { timeout: Math.min(s.timeoutMs, 10_000) } : {}),
          ...(opts.reconnect ? { maxReconnectAttempts: -1 } : {}),
        },
      },
      silentLogger,
    );
  } catch (e) {
    throw connectError(e, url);
  }
  const bus = new NatsBus(nc, silentLogger);
  return {
    bus,
    nc,
    url,
    close: async () => {
      if (!nc.isClosed()) await nc.close().catch(() => undefined);
    },
  };
}

export function connectError(e: unknown, url: string): CliError {
  const code = String((e as { code?: string }).code ?? '');
  if (/creds file/i.test((e as Error).message ?? '')) return new CliError(`NATS_CREDS_FILE: ${(e as Error).message}`);
  if (/AUTHORIZATION_VIOLATION|AUTHENTICATION/i.test(code) || /authorization/i.test((e as Error).message ?? '')) {
    return new CliError(`NATS at ${url} refused the credentials: check NATS_USER/NATS_PASS, NATS_TOKEN or NATS_CREDS_FILE`);
  }
  return new CliError(`cannot reach NATS at ${url}: start the system (see README) or set NATS_URL`);
}
