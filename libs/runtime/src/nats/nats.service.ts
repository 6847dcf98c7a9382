import { BeforeApplicationShutdown, Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { CommandSigner, connectNats, ensureStreams, loadSigningKey, NatsBus } from '@nco/events';
import { NatsConnection } from 'nats';
import { Logger } from 'pino';
import { ROOT_LOGGER, SERVICE_CONFIG, SERVICE_NAME } from '../tokens';
import { ReadinessRegistry } from '../health/readiness.registry';

interface NatsConfig {
  NATS_URL: string[];
  NATS_USER?: string;
  NATS_PASS?: string;
  NATS_TOKEN?: string;
  NATS_CREDS_FILE?: string;
  NCO_SIGNING_KEY?: string;
  NCO_SIGNING_KEY_FILE?: string;
}

/**
 * The service's one NATS connection, wrapped in the typed bus. Connects at module init (waiting
 * for the server if it is not up yet), makes sure the durable streams exist, and drains on
 * shutdown: subscriptions stop, in-flight handlers finish, then the connection closes.
 */
@Injectable()
export class NatsService implements OnModuleInit, BeforeApplicationShutdown {
  private busInstance?: NatsBus;
  private readonly log: Logger;

  constructor(
    @Inject(SERVICE_NAME) private readonly service: string,
    @Inject(SERVICE_CONFIG) private readonly config: NatsConfig,
    @Inject(ROOT_LOGGER) root: Logger,
    private readonly readiness: ReadinessRegistry,
  ) {
    this.log = root.child({ component: 'nats' });
  }

  get bus(): NatsBus {
    if (!this.busInstance) throw new Error('NATS is not connected yet');
    return this.busInstance;
  }

  get connection(): NatsConnection {
    return this.bus.nc;
  }

  async onModuleInit(): Promise<void> {
    const nc = await connectNats(
      {
        servers: this.config.NATS_URL,
        name: `${this.service}@${process.pid}`,
        user: this.config.NATS_USER,
        pass: this.config.NATS_PASS,
        token: this.config.NATS_TOKEN,
        credsFile: this.config.NATS_CREDS_FILE,
      },
      this.log,
    );
    this.busInstance = new NatsBus(nc, this.log);
    const key = loadSigningKey(this.config);
    if (key) this.busInstance.signer = new CommandSigner(key);
    else this.log.info('no NCO_SIGNING_KEY: device commands this service sends go out unsigned (devices that pin NCO keys refuse them)');
    await ensureStreams(nc, this.log);
    this.readiness.register('nats', async () => {
      if (nc.isClosed()) throw new Error('connection closed');
      await nc.flush();
    });
  }

  async beforeApplicationShutdown(): Promise<void> {
    if (!this.busInstance) return;
    this.log.info('draining NATS: finishing in-flight messages');
    await this.busInstance.close();
  }
}
