import { BeforeApplicationShutdown, Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { ROOT_LOGGER, SERVICE_CONFIG, trackBuildQueue } from '@nco/runtime';
import { Job, Queue, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { Logger } from 'pino';
import { ConstructConfig } from '../settings';

export const BUILD_QUEUE = 'nco-builds';
export const BUILD_OPERATION_JOB = 'build-operation';

export interface BuildOperationJobData {
  operationId: string;
}

export type BuildProcessor = (job: Job<BuildOperationJobData>) => Promise<unknown>;

/**
 * The build queue on BullMQ (Redis): one job per build operation, deduplicated while it waits
 * or runs, retried with exponential backoff for transient failures, bounded concurrency per
 * replica. Every replica runs a worker; Redis hands each job to one of them.
 */
@Injectable()
export class BuildQueueRepository implements OnModuleInit, BeforeApplicationShutdown {
  private queue!: Queue<BuildOperationJobData>;
  private worker?: Worker<BuildOperationJobData>;
  private readonly connections: IORedis[] = [];
  private readonly log: Logger;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ConstructConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'build-queue' });
  }

  onModuleInit(): void {
    this.queue = new Queue(BUILD_QUEUE, { connection: this.connection(), prefix: this.config.QUEUE_PREFIX });
    trackBuildQueue(() => this.counts());
  }

  startWorker(processor: BuildProcessor): void {
    this.worker = new Worker(BUILD_QUEUE, processor, {
      connection: this.connection(),
      prefix: this.config.QUEUE_PREFIX,
      concurrency: this.config.BUILD_CONCURRENCY,
    });
    this.worker.on('failed', (job, err) =>
      this.log.warn({ operationId: job?.data.operationId, attempt: job?.attemptsMade, err: err.message }, 'build job failed'),
    );
    this.worker.on('error', (err) => this.log.error({ err: err.message }, 'build worker error'));
  }

  /** Queues the operation's pending builds; a job already waiting for it absorbs the request. */
  async enqueue(operationId: string, delayMs = 0): Promise<void> {
    await this.queue.add(
      BUILD_OPERATION_JOB,
      { operationId },
      {
        deduplication: { id: `op-${operationId}` },
        delay: delayMs,
        attempts: this.config.BUILD_ATTEMPTS,
        backoff: { type: 'exponential', delay: 2_000 },
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
      },
    );
  }

  async counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
  }

  async failedJobs(limit = 20) {
    const jobs = await this.queue.getFailed(0, limit - 1);
    return jobs.map((j) => ({
      id: String(j.id),
      name: j.name,
      reason: j.failedReason ?? '',
      attempts: j.attemptsMade,
      finishedAt: j.finishedOn ? new Date(j.finishedOn).toISOString() : null,
    }));
  }

  /** Lets running builds finish (bounded by SHUTDOWN_TIMEOUT_MS); waiting jobs stay for other replicas. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
    await Promise.all(this.connections.map((c) => c.quit().catch(() => undefined)));
  }

  private connection(): IORedis {
    const c = new IORedis(this.config.REDIS_URL, { maxRetriesPerRequest: null, lazyConnect: false });
    c.on('error', (err) => this.log.warn({ err: err.message }, 'redis connection error'));
    this.connections.push(c);
    return c;
  }
}
