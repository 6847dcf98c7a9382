import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { MiddleboxRepository } from '@nco/cib';
import { QueueGroups, Subjects } from '@nco/events';
import { NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { DeployConfig } from '../settings';
import { inverseSender } from './inverse.delivery';
import { InverseReconciler } from './inverse-reconciler';
import { InverseCommandsService } from './inverse-commands.service';

/**
 * Its own queue group: the install dispatcher's subscriptions to the same events sit in
 * deploy-svc's group, and one group hands each message to one member only.
 */
const QUEUE = `${QueueGroups.deploy}-inverse`;

/** deploy-svc's inverse modules: the reconcile loop, what wakes it, and the operator commands. */
@Injectable()
export class InverseKeepingService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private reconciler?: InverseReconciler;
  private readonly log: Logger;

  constructor(
    private readonly middleboxes: MiddleboxRepository,
    private readonly commands: InverseCommandsService,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: DeployConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'inverse' });
  }

  onApplicationBootstrap(): void {
    const bus = this.nats.bus;
    const r = (this.reconciler = new InverseReconciler({
      repo: this.middleboxes,
      send: inverseSender(() => this.nats.bus, this.config.COMMAND_TIMEOUT_MS),
      config: this.config,
      log: this.log,
    }));
    const opts = { queue: QUEUE };
    const kick = () => r.kick();
    // Deployments changed (built, installed, revoked), a middlebox appeared or changed, or a
    // report found a middlebox holding something else than the CIB says.
    bus.subscribe(Subjects.evt.pendingWork, kick, opts);
    bus.subscribe(Subjects.evt.buildSucceeded, kick, opts);
    bus.subscribe(Subjects.evt.operationProgress, kick, opts);
    bus.subscribe(Subjects.evt.hostRegistered, ({ env }) => (env.body.middleboxType ? r.kick() : undefined), opts);
    bus.subscribe(Subjects.evt.hostChanged, ({ env }) => ('middleboxType' in env.body.changes ? r.kick() : undefined), opts);
    bus.subscribe(Subjects.evt.finding, ({ env }) => (env.body.kind === 'revoked' || env.body.kind === 'installed' ? r.kick() : undefined), opts);
    bus.subscribe(Subjects.evt.hostOnline, ({ env }) => r.wake([env.body.hostId]), opts);

    bus.serve(Subjects.cmd.middleboxesList, ({ env }) => this.commands.list(env.body), { queue: QueueGroups.deploy });
    bus.serve(Subjects.cmd.inverseLink, async ({ env }) => this.kicked(await this.commands.link(env.body)), { queue: QueueGroups.deploy });
    bus.serve(Subjects.cmd.inverseUnlink, async ({ env }) => this.kicked(await this.commands.unlink(env.body)), { queue: QueueGroups.deploy });
    r.start();
  }

  get current(): InverseReconciler | undefined {
    return this.reconciler;
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.reconciler?.stop();
  }

  private kicked<T>(reply: T): T {
    this.reconciler?.kick();
    return reply;
  }
}
