import { AckPolicy, ConsumerConfig, DeliverPolicy, JetStreamManager, NatsConnection, nanos, RetentionPolicy, StorageType } from 'nats';
import { Streams } from '../subjects';
import { BusLogger } from './logger';

type StreamDef = (typeof Streams)[keyof typeof Streams];

/** Creates or updates each stream so its config matches the code; safe to run on every start. */
export async function ensureStreams(nc: NatsConnection, log: BusLogger, defs: StreamDef[] = Object.values(Streams)): Promise<void> {
  const jsm = await nc.jetstreamManager();
  for (const def of defs) {
    const config = {
      name: def.name,
      subjects: [...def.subjects],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(def.maxAgeMs),
      max_bytes: def.maxBytes,
      duplicate_window: nanos(120_000),
    };
    try {
      await jsm.streams.info(def.name);
      await jsm.streams.update(def.name, config);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await jsm.streams.add(config);
      log.info({ stream: def.name }, 'created stream');
    }
  }
}

/** Creates a durable pull consumer if it is missing; replicas of a service share it. */
export async function ensurePullConsumer(
  jsm: JetStreamManager,
  stream: string,
  durable: string,
  extra: Partial<ConsumerConfig> = {},
): Promise<void> {
  const config: Partial<ConsumerConfig> = {
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.New,
    ack_wait: nanos(30_000),
    max_ack_pending: 20_000,
    max_deliver: 5,
    ...extra,
  };
  try {
    await jsm.consumers.info(stream, durable);
    const { ack_wait, max_ack_pending, max_deliver } = config;
    await jsm.consumers.update(stream, durable, { ack_wait, max_ack_pending, max_deliver });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await jsm.consumers.add(stream, config);
  }
}

function isNotFound(e: unknown): boolean {
  const err = e as { api_error?: { err_code?: number }; message?: string };
  return err.api_error?.err_code === 10059 || err.api_error?.err_code === 10014 || /not found/i.test(err.message ?? '');
}
