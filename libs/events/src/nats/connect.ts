import { connect, ConnectionOptions, Events, NatsConnection } from 'nats';
import { loadCreds } from './creds';
import { BusLogger } from './logger';

export interface ConnectSettings {
  servers: string | string[];
  name: string;
  user?: string;
  pass?: string;
  token?: string;
  /** A `.creds` file (user JWT + seed): JWT auth, and the inbox prefix its permissions allow. */
  credsFile?: string;
  /** Fail fast instead of waiting for the first connection (the CLI wants this, services do not). */
  failFast?: boolean;
  extra?: Partial<ConnectionOptions>;
}

/**
 * Connects with the settings every long-running process needs: wait for the server on start,
 * reconnect forever, and log each status change, so a NATS restart needs no manual step.
 */
export async function connectNats(settings: ConnectSettings, log: BusLogger): Promise<NatsConnection> {
  const creds = settings.credsFile ? loadCreds(settings.credsFile) : undefined;
  const nc = await connect({
    servers: settings.servers,
    name: settings.name,
    user: settings.user,
    pass: settings.pass,
    token: settings.token,
    ...(creds ? { authenticator: creds.authenticator, inboxPrefix: creds.inboxPrefix } : {}),
    waitOnFirstConnect: !settings.failFast,
    maxReconnectAttempts: settings.failFast ? 0 : -1,
    reconnectTimeWait: 500,
    reconnectJitter: 250,
    pingInterval: 10_000,
    // A stack trace per request costs ~70 µs: too much at fleet scale.
    noAsyncTraces: true,
    timeout: settings.failFast ? 3_000 : 20_000,
    ...settings.extra,
  });
  void watchStatus(nc, log);
  log.info({ server: nc.getServer() }, 'connected to NATS');
  return nc;
}

export const natsMetrics = { reconnects: 0, disconnects: 0 };

async function watchStatus(nc: NatsConnection, log: BusLogger): Promise<void> {
  for await (const s of nc.status()) {
    if (s.type === Events.Reconnect) {
      natsMetrics.reconnects++;
      log.info({ server: s.data }, 'reconnected to NATS');
    } else if (s.type === Events.Disconnect) {
      natsMetrics.disconnects++;
      log.warn({ server: s.data }, 'disconnected from NATS, reconnecting');
    } else if (s.type === Events.Error) {
      log.error({ err: String(s.data) }, 'NATS error');
    }
  }
}
