import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { HostRepository } from '@nco/cib';
import { ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { Logger } from 'pino';
import { MonitorEvents } from '../events/monitor-events';
import { monitorMetrics } from '../metrics';
import { MonitorConfig } from '../settings';

/**
 * Every LIVENESS_SWEEP_MS: hosts silent for OFFLINE_AFTER_MS go offline (one UPDATE … RETURNING,
 * so with several replicas each host is announced by exactly one), then the fleet gauges are
 * refreshed. A host comes back online through its next report (ReconcileService).
 */
@Injectable()
export class LivenessSweep implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log: Logger;
  private readonly metrics = monitorMetrics();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly hosts: HostRepository,
    private readonly events: MonitorEvents,
    @Inject(SERVICE_CONFIG) private readonly config: MonitorConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'liveness' });
  }

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One sweep; returns the hosts it turned offline. */
  async sweep(): Promise<number[]> {
    const changed = await this.hosts.markStaleOffline(this.config.OFFLINE_AFTER_MS);
    for (const h of changed) {
      this.log.info({ hostId: h.hostId, lastSeenAt: h.lastSeenAt, silentForMs: this.config.OFFLINE_AFTER_MS }, 'host offline');
    }
    this.metrics.liveness.inc({ to: 'offline' }, changed.length);
    await this.events.announce({ offline: changed });
    const counts = await this.hosts.countByLiveness();
    this.metrics.hosts.set({ state: 'online' }, counts.online);
    this.metrics.hosts.set({ state: 'offline' }, counts.offline);
    return changed.map((h) => h.hostId);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.sweep()
        .then(
          () => undefined,
          (e) => this.log.error({ err: (e as Error).message }, 'liveness sweep failed; next one in LIVENESS_SWEEP_MS'),
        )
        .finally(() => this.schedule());
    }, this.config.LIVENESS_SWEEP_MS);
  }
}
