export interface MicroBatcherOptions<T, R> {
  /** Flush when this many items are waiting. */
  maxSize: number;
  /** Flush this long after the first item arrived, at the latest. */
  maxWaitMs: number;
  /** Handles one batch; returns one result per item, in order. */
  handle(items: T[]): Promise<R[]>;
  /** How many batches may run at once (1 keeps order). */
  concurrency?: number;
}

/**
 * Turns many small concurrent requests into few large ones: each `add()` resolves with its own
 * result once the batch it landed in is handled. Used where one message per host arrives but
 * the database should see one statement per batch.
 */
export class MicroBatcher<T, R> {
  private queue: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private timer?: NodeJS.Timeout;
  private running = 0;
  private readonly idle: Array<() => void> = [];

  constructor(private readonly opts: MicroBatcherOptions<T, R>) {}

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.opts.maxSize) this.flushSoon(0);
      else this.flushSoon(this.opts.maxWaitMs);
    });
  }

  /** Resolves when nothing is queued or running. */
  async drain(): Promise<void> {
    if (this.queue.length) this.flushSoon(0);
    while (this.queue.length || this.running) await new Promise<void>((r) => this.idle.push(r));
  }

  private flushSoon(delay: number): void {
    if (delay === 0) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      setImmediate(() => this.flush());
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, delay);
    }
  }

  private flush(): void {
    const limit = this.opts.concurrency ?? 1;
    while (this.queue.length && this.running < limit) {
      const batch = this.queue.splice(0, this.opts.maxSize);
      this.running++;
      this.opts
        .handle(batch.map((b) => b.item))
        .then(
          (results) => batch.forEach((b, i) => b.resolve(results[i])),
          (err) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.running--;
          if (this.queue.length) this.flushSoon(this.queue.length >= this.opts.maxSize ? 0 : this.opts.maxWaitMs);
          if (!this.queue.length && !this.running) this.idle.splice(0).forEach((r) => r());
        });
    }
  }
}
