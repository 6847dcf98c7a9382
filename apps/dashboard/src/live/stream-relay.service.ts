import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Streams } from '@nco/events';
import { counter, gauge, NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { ConsumerMessages, DeliverPolicy, OrderedConsumerOptions } from 'nats';
import { Logger } from 'pino';
import { DashboardConfig } from '../settings';
import { decodeLiveItem, LiveStream } from './live-item';
import { LiveState } from './live-state';
import { SseHub } from './sse-hub';

const metrics = () => ({
  messages: counter('nco_dashboard_stream_messages_total', 'Stream messages relayed to the pages, by stream', ['stream']),
  malformed: counter('nco_dashboard_stream_malformed_total', 'Stream messages dropped as malformed, by stream', ['stream']),
  clients: gauge('nco_dashboard_clients', 'Pages connected to the live stream'),
});

/**
 * Follows NCO_EVENTS (replaying DASHBOARD_REPLAY_MS first) and NCO_REPORTS (new reports) with
 * ordered consumers, as `nco watch` does: ephemeral, no acks, recreated by the client after a
 * NATS restart. Every message is validated, remembered in LiveState and pushed to the pages.
 * Nothing here reads the database.
 */
@Injectable()
export class StreamRelay implements OnApplicationBootstrap, OnModuleDestroy {
  readonly state: LiveState;
  readonly hub: SseHub;
  private readonly log: Logger;
  private readonly metrics = metrics();
  private readonly iterators: ConsumerMessages[] = [];
  private stopped = false;

  constructor(
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: DashboardConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'relay' });
    this.state = new LiveState({ bucketMs: config.DASHBOARD_BUCKET_MS, buckets: config.DASHBOARD_BUCKETS, recent: 300, errors: 100 });
    this.hub = new SseHub({ pushMs: config.DASHBOARD_PUSH_MS, maxReports: 200, maxEvents: 1000 }, () => this.state.seriesUntil(Date.now(), 2));
  }

  async onApplicationBootstrap(): Promise<void> {
    this.hub.start();
    const replay: Partial<OrderedConsumerOptions> = this.config.DASHBOARD_REPLAY_MS
      ? { opt_start_time: new Date(Date.now() - this.config.DASHBOARD_REPLAY_MS).toISOString() }
      : { deliver_policy: DeliverPolicy.New };
    await this.follow('events', Streams.events.name, replay);
    await this.follow('reports', Streams.reports.name, { deliver_policy: DeliverPolicy.New });
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const it of this.iterators) it.stop();
    this.hub.close();
  }

  /** A page opened the stream: counted while it stays. */
  clientOpened(): () => void {
    this.metrics.clients.inc();
    return () => this.metrics.clients.dec();
  }

  private async follow(stream: LiveStream, name: string, opts: Partial<OrderedConsumerOptions>): Promise<void> {
    const consumer = await this.nats.connection.jetstream().consumers.get(name, opts);
    const it = await consumer.consume();
    this.iterators.push(it);
    this.log.info({ stream: name, from: opts.opt_start_time ?? 'new messages' }, 'following stream');
    void (async () => {
      for await (const m of it) {
        if (this.stopped) break;
        const item = decodeLiveItem(stream, m.seq, m.subject, m.data);
        if ('malformed' in item) {
          this.metrics.malformed.inc({ stream });
          this.log.debug({ stream: name, seq: m.seq, subject: m.subject, reason: item.malformed }, 'dropped malformed stream message');
          continue;
        }
        this.metrics.messages.inc({ stream });
        this.state.add(item, m.info.timestampNanos / 1e6);
        this.hub.push(item);
      }
      if (!this.stopped) this.log.error({ stream: name }, 'stream subscription ended');
    })();
  }
}
