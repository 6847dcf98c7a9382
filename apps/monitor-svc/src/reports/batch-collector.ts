/**
 * Groups an async stream into batches: a batch closes when it holds `maxSize` items or
 * `maxWaitMs` after its first item, whichever comes first. A `next()` still waiting when a batch
 * closes is kept for the following batch, so no item is lost between batches.
 */
export class BatchCollector<T> {
  private pending?: Promise<IteratorResult<T>>;
  private done = false;

  constructor(private readonly source: AsyncIterator<T>) {}

  /** The next batch, or null once the source has ended and everything was handed out. */
  async next(maxSize: number, maxWaitMs: number): Promise<T[] | null> {
    if (this.done) return null;
    const first = await this.take();
    if (first.done) return null;
    const batch = [first.value];
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), maxWaitMs);
    });
    try {
      while (batch.length < maxSize) {
        const r = await Promise.race([this.peek(), deadline]);
        if (r === 'deadline') break;
        this.pending = undefined;
        if (r.done) {
          this.done = true;
          break;
        }
        batch.push(r.value);
      }
    } finally {
      clearTimeout(timer);
    }
    return batch;
  }

  private peek(): Promise<IteratorResult<T>> {
    this.pending ??= this.source.next();
    return this.pending;
  }

  private async take(): Promise<IteratorResult<T>> {
    const r = await this.peek();
    this.pending = undefined;
    if (r.done) this.done = true;
    return r;
  }
}
