import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DeviceWorkRepository } from '@nco/cib';
import { QueueGroups } from '@nco/events';
import { NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { CommandDelivery, DeviceDispatcher, dispatchMetrics, subscribeTriggers } from '@nco/delivery';
import { RevokeConfig } from './settings';

/** revoke-svc's dispatcher: deprecations and revocations (operators' and rotations'), to the devices. */
@Injectable()
export class RevokeDispatchService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private dispatcher?: DeviceDispatcher;

  constructor(
    private readonly work: DeviceWorkRepository,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: RevokeConfig,
    @Inject(ROOT_LOGGER) private readonly log: Logger,
  ) {}

  onApplicationBootstrap(): void {
    const bus = () => this.nats.bus;
    this.dispatcher = new DeviceDispatcher({
      name: 'revoke',
      deliveries: [new CommandDelivery(['deprecate', 'revoke'], bus, this.config.COMMAND_TIMEOUT_MS)],
      work: this.work,
      bus,
      config: this.config,
      log: this.log,
      metrics: dispatchMetrics(),
    });
    subscribeTriggers(this.nats.bus, QueueGroups.revoke, this.dispatcher);
    this.dispatcher.start();
  }

  kick(): void {
    this.dispatcher?.kick();
  }

  get current(): DeviceDispatcher | undefined {
    return this.dispatcher;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.dispatcher?.stop();
  }
}
