import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ensurePullConsumer, Streams } from '@nco/events';
import { NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { ConsumerMessages, DeliverPolicy, JsMsg, nanos } from 'nats';
import { Logger } from 'pino';
import { monitorMetrics } from '../metrics';
import { MonitorConfig } from '../settings';
import { BatchCollector } from './batch-collector';
import { readReport, Report } from './report-batch';
import { ReconcileService } from './reconcile.service';
import { ReportIdentity } from './report-identity';

interface Item {
  msg: JsMsg;
  report: Report;
}

/**
 * NATS entry of reports: a durable pull consumer on NCO_REPORTS that the replicas share, so
 * each report is handled once. Messages are decoded as they arrive and grouped into batches; a
 * malformed one is refused on its own (logged, terminated, never touches the CIB). A batch is
 * acked after its transaction commits, or redelivered later if it fails.
 */
@Injectable()
export class ReportConsumer implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly log: Logger;
  private readonly metrics = monitorMetrics();
  private readonly inFlight = new Set<Promise<void>>();
  private messages?: ConsumerMessages;
  private loop?: Promise<void>;
  private stopping = false;

  constructor(
    private readonly nats: NatsService,
    private readonly reconcile: ReconcileService,
    private readonly identity: ReportIdentity,
    @Inject(SERVICE_CONFIG) private readonly config: MonitorConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'reports', consumer: config.REPORT_CONSUMER });
  }

  async onApplicationBootstrap(): Promise<void> {
    const { nc, js } = this.nats.bus;
    await ensurePullConsumer(await nc.jetstreamManager(), Streams.reports.name, this.config.REPORT_CONSUMER, {
      deliver_policy: DeliverPolicy.New,
      ack_wait: nanos(this.config.REPORT_ACK_WAIT_MS),
    });
    const consumer = await js.consumers.get(Streams.reports.name, this.config.REPORT_CONSUMER);
    this.messages = await consumer.consume({ max_messages: Math.max(100, 2 * this.config.REPORT_BATCH_SIZE) });
    this.loop = this.run(this.messages);
    this.log.info({ batchSize: this.config.REPORT_BATCH_SIZE, batchWaitMs: this.config.REPORT_BATCH_WAIT_MS }, 'consuming reports');
  }

  /** Stops pulling, finishes (commits and acks) the batches in flight; the rest is redelivered. */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    await this.messages?.close();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    const nc = this.nats.bus.nc;
    if (!nc.isClosed()) await nc.flush().catch(() => undefined);
    this.log.info('stopped consuming reports');
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    const batches = new BatchCollector<JsMsg>(messages[Symbol.asyncIterator]());
    try {
      for (;;) {
        const msgs = await batches.next(this.config.REPORT_BATCH_SIZE, this.config.REPORT_BATCH_WAIT_MS);
        if (!msgs) break;
        const items = await this.fromTheirDevices(this.accept(msgs));
        if (!items.length) continue;
        while (this.inFlight.size >= this.config.REPORT_BATCH_CONCURRENCY) await Promise.race(this.inFlight);
        const p = this.apply(items).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
    } catch (e) {
      if (!this.stopping) this.log.error({ err: e }, 'report consumer failed; reports wait for a restart or another replica');
    }
  }

  /** Decodes each message; a malformed one is refused here and takes no part in the batch. */
  private accept(msgs: JsMsg[]): Item[] {
    const items: Item[] = [];
    for (const msg of msgs) {
      const read = readReport(msg.subject, msg.data);
      if (read.ok) {
        items.push({ msg, report: read.report });
        continue;
      }
      this.metrics.refused.inc({ reason: read.reason });
      this.log.warn({ hostId: read.hostId, subject: msg.subject, reason: read.reason, detail: read.detail }, `refused report: ${read.detail}`);
      msg.term(); // no reason text: nats-server before 2.10 ignores a +TERM that carries one
    }
    return items;
  }

  /** Device identity (docs/security.md): a report not signed by its host's enrolled device is refused like a malformed one. */
  private async fromTheirDevices(items: Item[]): Promise<Item[]> {
    if (!items.length) return items;
    let verdicts: Array<string | undefined>;
    try {
      verdicts = await this.identity.check(items.map((i) => ({ hostId: i.report.hostId, subject: i.msg.subject, data: i.msg.data })));
    } catch (e) {
      this.log.error({ reports: items.length, err: errText(e) }, 'device identities unavailable; the batch will be delivered again');
      settle(items, (m) => m.nak(this.config.REPORT_RETRY_DELAY_MS));
      return [];
    }
    return items.filter((item, n) => {
      const why = verdicts[n];
      if (!why) return true;
      this.metrics.refused.inc({ reason: 'wrong_device' });
      this.log.warn({ hostId: item.report.hostId, subject: item.msg.subject, reason: 'wrong_device', detail: why }, `refused report: ${why}`);
      item.msg.term();
      return false;
    });
  }

  /**
   * Applies a batch in one transaction and acks it. A failure caused by one host's data
   * (a constraint or data error) is isolated by halving the batch, so one bad report cannot
   * hold back the fleet; any other failure (database down, deadlock) redelivers the whole batch.
   */
  private async apply(items: Item[]): Promise<void> {
    const timer = this.metrics.batchSeconds.startTimer();
    try {
      await this.reconcile.reconcile(items.map((i) => i.report));
      settle(items, (m) => m.ack());
      this.metrics.batchSize.observe(items.length);
      timer();
    } catch (e) {
      const hosts = [...new Set(items.map((i) => i.report.hostId))];
      if (hosts.length > 1 && isDataError(e)) {
        this.metrics.batchFailures.inc({ handling: 'split' });
        this.log.warn({ reports: items.length, hosts: hosts.length, err: errText(e) }, 'batch failed on its data; applying it in halves');
        const left = new Set(hosts.slice(0, Math.ceil(hosts.length / 2)));
        await this.apply(items.filter((i) => left.has(i.report.hostId)));
        await this.apply(items.filter((i) => !left.has(i.report.hostId)));
        return;
      }
      this.metrics.batchFailures.inc({ handling: 'retried' });
      this.log.error(
        { hostId: hosts.length === 1 ? hosts[0] : undefined, reports: items.length, retryInMs: this.config.REPORT_RETRY_DELAY_MS, err: errText(e) },
        'batch not applied; it will be delivered again',
      );
      settle(items, (m) => m.nak(this.config.REPORT_RETRY_DELAY_MS));
    }
  }
}

function settle(items: Item[], fn: (m: JsMsg) => void): void {
  try {
    for (const i of items) fn(i.msg);
  } catch {
    // connection closed: unacked messages are redelivered after the consumer's ack wait
  }
}

/** SQLSTATE classes one report's data can cause: data exception, constraint, raised by a trigger. */
function isDataError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|P0)[0-9A-Z]{3}$/.test(code);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
