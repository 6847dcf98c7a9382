import { Command, Option } from 'commander';
import { Streams } from '@nco/events';
import { ConsumerEvents, ConsumerMessages, DeliverPolicy, Events, OrderedConsumerOptions } from 'nats';
import { parseHostId, parseSince, positiveInt } from '../args';
import { CliContext, withConnection } from '../context';
import { CliError } from '../errors';
import { CliConnection } from '../nats';
import { toJsonLine } from '../output/json';
import { decodeWatchMessage, formatWatchLine, WatchItem, WatchStream } from '../watch/watch-message';

export interface WatchOptions {
  reports?: boolean;
  events?: boolean;
  host?: number;
  since?: number;
  all?: boolean;
  json?: boolean;
  count?: number;
}

export interface WatchPlan {
  streams: Array<{ stream: WatchStream; name: string; consumer: Partial<OrderedConsumerOptions> }>;
  hostId?: number;
  /** For the start line: what is being replayed. */
  from: string;
}

/**
 * Which streams, filters and start position the options ask for. Filters are single subjects:
 * nats-server 2.9 does not know `filter_subjects`, and events about a host (`nco.evt.host.*`)
 * carry its id in the body, so `--host` filters events here rather than on the server.
 */
export function watchPlan(o: WatchOptions, now: Date): WatchPlan {
  const both = !o.reports && !o.events;
  // No deliver_policy = from the first message: the client sends `all` with a start sequence, which the server refuses.
  const start: Partial<OrderedConsumerOptions> = o.all
    ? {}
    : o.since !== undefined
      ? { opt_start_time: new Date(now.getTime() - o.since).toISOString() }
      : { deliver_policy: DeliverPolicy.New };
  const streams: WatchPlan['streams'] = [];
  if (both || o.reports) {
    const filter = o.host !== undefined ? { filterSubjects: `nco.dev.${o.host}.report` } : {};
    streams.push({ stream: 'reports', name: Streams.reports.name, consumer: { ...start, ...filter } });
  }
  if (both || o.events) streams.push({ stream: 'events', name: Streams.events.name, consumer: { ...start } });
  const from = o.all ? 'all stored messages, then new ones' : o.since !== undefined ? `since ${start.opt_start_time}, then new ones` : 'new messages';
  return { streams, hostId: o.host, from };
}

/** Follows the plan's streams until `count` messages were shown, Ctrl-C, or a fatal stream error. */
export async function runWatch(ctx: CliContext, conn: CliConnection, plan: WatchPlan, o: WatchOptions): Promise<void> {
  const js = conn.nc.jetstream();
  const iterators: ConsumerMessages[] = [];
  let shown = 0;
  let stopped = false;
  let wake!: () => void;
  const done = new Promise<void>((resolve) => (wake = resolve));
  const stop = () => {
    if (stopped) return;
    stopped = true;
    for (const it of iterators) it.stop();
    wake();
  };
  const removeInterrupt = ctx.onInterrupt(stop);
  void reportConnectionStatus(ctx, conn);
  const show = (item: WatchItem) => {
    if (o.json) {
      if (item.ok) ctx.output.out(toJsonLine(item.env));
      else ctx.output.err(formatWatchLine(item, ctx.now()));
    } else {
      ctx.output.out(formatWatchLine(item, ctx.now()));
    }
  };
  try {
    for (const s of plan.streams) {
      let consumer;
      try {
        consumer = await js.consumers.get(s.name, s.consumer);
      } catch (e) {
        if (/stream not found/i.test((e as Error).message)) {
          throw new CliError(`stream ${s.name} does not exist on ${conn.url}: the NCO services create it when they start (npm start, see README)`);
        }
        throw e;
      }
      // Not abort_on_missing_resource: after a NATS restart the ordered consumer is gone and must be recreated.
      const it = await consumer.consume();
      iterators.push(it);
      void reportStreamStatus(ctx, it, s.name);
      if (stopped) return;
    }
    ctx.output.err(`watching ${plan.streams.map((s) => s.name).join(' and ')}${plan.hostId !== undefined ? ` for host ${plan.hostId}` : ''}: ${plan.from} (Ctrl-C to stop)\n`);
    const loops = iterators.map(async (it, i) => {
      const stream = plan.streams[i].stream;
      for await (const m of it) {
        if (stopped) break;
        const item = decodeWatchMessage(stream, m.seq, m.subject, m.data, new Date(m.info.timestampNanos / 1e6));
        if (plan.hostId !== undefined && item.hostId !== plan.hostId) continue;
        show(item);
        shown++;
        if (o.count !== undefined && shown >= o.count) {
          stop();
          break;
        }
      }
    });
    const ended = Promise.all(loops).then(() => {
      if (!stopped) throw new CliError('the stream subscription ended unexpectedly');
    });
    await Promise.race([done, ended]);
  } catch (e) {
    const message = (e as Error).message ?? '';
    if (/stream not found|consumer not found|no responders/i.test(message) && !(e instanceof CliError)) {
      throw new CliError(`lost the stream on ${conn.url}: ${message}`);
    }
    throw e;
  } finally {
    removeInterrupt();
    stop();
  }
}

async function reportStreamStatus(ctx: CliContext, it: ConsumerMessages, stream: string): Promise<void> {
  let missing = false;
  for await (const s of await it.status()) {
    if (s.type === ConsumerEvents.StreamNotFound && !missing) {
      missing = true;
      ctx.output.err(`stream ${stream} is gone, waiting for it to come back...\n`);
    } else if (s.type === ConsumerEvents.OrderedConsumerRecreated && missing) {
      missing = false;
      ctx.output.err(`stream ${stream} is back\n`);
    }
  }
}

/** A long watch survives a NATS restart; say so on stderr, so the silence has an explanation. */
async function reportConnectionStatus(ctx: CliContext, conn: CliConnection): Promise<void> {
  for await (const s of conn.nc.status()) {
    if (s.type === Events.Disconnect) ctx.output.err(`lost the connection to NATS at ${conn.url}, reconnecting...\n`);
    else if (s.type === Events.Reconnect) ctx.output.err('reconnected to NATS\n');
  }
}

export function watchCommand(ctx: CliContext): Command {
  return new Command('watch')
    .description('follow device reports and NCO events live (JetStream streams NCO_REPORTS and NCO_EVENTS)')
    .option('--reports', 'device reports only (default: reports and events)')
    .option('--events', 'NCO and device events only (default: reports and events)')
    .option('--host <id>', 'only messages about this host', parseHostId)
    .addOption(new Option('--since <duration>', 'replay from this long ago first, e.g. 30s, 5m, 1h, 2d').argParser(parseSince).conflicts('all'))
    .addOption(new Option('--all', 'replay everything the streams still hold first'))
    .option('-n, --count <n>', 'stop after this many messages', positiveInt())
    .option('--json', 'print each message envelope as one JSON line (NDJSON); malformed messages go to stderr')
    .addHelpText(
      'after',
      `
One line per message: local time, kind (report, host.online, reconcile.finding, ...), host, summary.
A message that fails validation is shown as "malformed: <reason>". Runs until Ctrl-C.
With both streams, replayed history arrives interleaved by stream, not merged by time.

Examples:
  nco watch
  nco watch --events --since 1h
  nco watch --reports --host 42 --json | jq .body.kernel.Installed`,
    )
    .action(async (o: WatchOptions, cmd: Command) => {
      const plan = watchPlan(o, ctx.now());
      await withConnection(ctx, cmd, (conn) => runWatch(ctx, conn, plan, o), { reconnect: true });
    });
}
