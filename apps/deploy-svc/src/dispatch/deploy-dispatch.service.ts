import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DeviceRepository, DeviceWorkRepository } from '@nco/cib';
import { ArtifactStore, QueueGroups } from '@nco/events';
import { NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { ArtifactSealer } from '../install/artifact-sealer';
import { InstallDelivery } from '../install/install.delivery';
import { DeployConfig } from '../settings';
import { CommandDelivery, DeviceDispatcher, dispatchMetrics, subscribeTriggers } from '@nco/delivery';

/** deploy-svc's dispatcher: installs, toggles and priorities, from the CIB to the devices. */
@Injectable()
export class DeployDispatchService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private dispatcher?: DeviceDispatcher;
  private store?: ArtifactStore;
  private readonly log: Logger;

  constructor(
    private readonly work: DeviceWorkRepository,
    private readonly devices: DeviceRepository,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: DeployConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root;
  }

  onApplicationBootstrap(): void {
    const bus = () => this.nats.bus;
    const timeoutMs = this.config.COMMAND_TIMEOUT_MS;
    this.dispatcher = new DeviceDispatcher({
      name: 'deploy',
      deliveries: [
        new InstallDelivery({ work: this.work, bus, artifacts: () => (this.store ??= new ArtifactStore(this.nats.connection)), timeoutMs, log: this.log.child({ component: 'install' }), sealer: new ArtifactSealer(this.devices) }),
        new CommandDelivery(['toggle', 'priority'], bus, timeoutMs),
      ],
      work: this.work,
      bus,
      config: this.config,
      log: this.log,
      metrics: dispatchMetrics(),
    });
    subscribeTriggers(this.nats.bus, QueueGroups.deploy, this.dispatcher, { builds: true });
    this.dispatcher.start();
  }

  /** Look for due work now (after an operator command). */
  kick(): void {
    this.dispatcher?.kick();
  }

  get current(): DeviceDispatcher | undefined {
    return this.dispatcher;
  }

  /** Stop claiming; the batch in flight is sent and settled before NATS drains. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.dispatcher?.stop();
  }
}
