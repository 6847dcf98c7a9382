import { BusLogger, NatsBus } from '@nco/events';
import { Subscription } from 'nats';
import type { Agent } from '../agent/agent';
import { AgentRuntime } from '../agent/agent-runtime';
import { CommandRouter, commandSubject } from '../agent/command-router';
import { CommandGuard } from '../security/command-guard';
import { Limiter } from '../agent/limiter';
import { watchReconnects } from '../agent/reconnects';

export interface FleetRuntimeOptions {
  /** Check-in requests in flight at once. */
  checkinConcurrency: number;
  /** How often the ticker looks for due reports. */
  tickMs: number;
  /** Checks every command before it reaches a device (one replay cache for the fleet). */
  guard?: CommandGuard;
}

/** Golden-ratio steps spread phases evenly over the interval for any fleet size. */
const GOLDEN = 0.618_033_988_749_895;

/**
 * Shared runtime of a fleet: one wildcard command subscription dispatched by the host id token,
 * one ticker that publishes the reports that are due, one reconnect watch, and a bound on
 * concurrent check-ins. Costs per device: two map entries, no timer, no subscription.
 */
export class FleetRuntime implements AgentRuntime {
  private readonly byHost = new Map<number, Agent>();
  /** Next report time (ms) of each attached agent. */
  private readonly due = new Map<Agent, number>();
  private readonly limiter: Limiter;
  private readonly router: CommandRouter;
  private attachedCount = 0;
  private ticker?: NodeJS.Timeout;
  private sub?: Subscription;
  private unwatch?: () => void;

  constructor(
    private readonly bus: NatsBus,
    private readonly log: BusLogger,
    private readonly opts: FleetRuntimeOptions,
  ) {
    this.limiter = new Limiter(opts.checkinConcurrency);
    this.router = new CommandRouter(bus, (hostId) => this.byHost.get(hostId), log, opts.guard);
  }

  start(): void {
    this.sub ??= this.bus.nc.subscribe(commandSubject(), { callback: this.router.onMessage });
    this.ticker ??= setInterval(() => this.tick(), this.opts.tickMs);
    this.unwatch ??= watchReconnects(this.bus.nc, () => {
      this.log.info({ devices: this.due.size }, 'NATS reconnected: every device checks in again');
      for (const agent of this.due.keys()) void agent.checkInAgain();
    });
  }

  /** Stops the ticker, the subscription and the reconnect watch, then waits for answers in flight. */
  async stop(): Promise<void> {
    clearInterval(this.ticker);
    this.ticker = undefined;
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    await this.router.drained();
  }

  limit<T>(fn: () => Promise<T>): Promise<T> {
    return this.limiter.run(fn);
  }

  attach(agent: Agent, previousHostId?: number): void {
    if (previousHostId !== undefined && this.byHost.get(previousHostId) === agent) this.byHost.delete(previousHostId);
    const hostId = agent.hostId as number;
    const holder = this.byHost.get(hostId);
    if (holder && holder !== agent) {
      this.log.warn({ hostId, mac: agent.mac, previousMac: holder.mac }, 'two devices were given the same host id; the later one takes its commands');
    }
    this.byHost.set(hostId, agent);
    if (!this.due.has(agent)) {
      const interval = agent.reportIntervalMs as number;
      const phase = interval * (1 - ((this.attachedCount++ * GOLDEN) % 1));
      this.due.set(agent, Date.now() + phase);
    }
  }

  detach(agent: Agent): void {
    if (agent.hostId !== undefined && this.byHost.get(agent.hostId) === agent) this.byHost.delete(agent.hostId);
    this.due.delete(agent);
  }

  find(hostId: number): Agent | undefined {
    return this.byHost.get(hostId);
  }

  private tick(): void {
    const now = Date.now();
    for (const [agent, at] of this.due) {
      if (at > now) continue;
      const interval = agent.reportIntervalMs as number;
      // Keep the phase; after a stall, skip the missed reports instead of sending a burst.
      this.due.set(agent, at + interval > now ? at + interval : now + interval);
      void agent.report('interval');
    }
  }
}
