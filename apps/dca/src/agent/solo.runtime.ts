import { BusLogger, NatsBus } from '@nco/events';
import { Subscription } from 'nats';
import type { Agent } from './agent';
import { AgentRuntime } from './agent-runtime';
import { CommandGuard } from '../security/command-guard';
import { CommandRouter, commandSubject } from './command-router';
import { unlimited } from './limiter';
import { watchReconnects } from './reconnects';

/** The runtime of one DCA process: its own report timer, command subscription and reconnect watch. */
export class SoloRuntime implements AgentRuntime {
  private agent?: Agent;
  private timer?: NodeJS.Timeout;
  private sub?: Subscription;
  private subscribedFor?: number;
  private unwatch?: () => void;
  private readonly router: CommandRouter;

  constructor(
    private readonly bus: NatsBus,
    private readonly log: BusLogger,
    guard?: CommandGuard,
  ) {
    this.router = new CommandRouter(bus, (hostId) => (hostId === this.agent?.hostId ? this.agent : undefined), log, guard);
  }

  readonly limit = unlimited.run;

  attach(agent: Agent): void {
    this.agent = agent;
    clearInterval(this.timer);
    this.timer = setInterval(() => void agent.report('interval'), agent.reportIntervalMs);
    if (this.subscribedFor !== agent.hostId) {
      this.sub?.unsubscribe();
      this.subscribedFor = agent.hostId;
      this.sub = this.bus.nc.subscribe(commandSubject(agent.hostId), { callback: this.router.onMessage });
      this.log.debug({ subject: this.sub.getSubject() }, 'listening for commands');
    }
    this.unwatch ??= watchReconnects(this.bus.nc, () => {
      this.log.info({ hostId: agent.hostId }, 'NATS reconnected: checking in again');
      void agent.checkInAgain();
    });
  }

  detach(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.subscribedFor = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
  }

  /** Waits for commands being answered (call after detach, before draining the connection). */
  drained(): Promise<void> {
    return this.router.drained();
  }
}
