import { BatchCollector } from './batch-collector';

/** An async source fed by hand, like the JetStream consumer's iterator. */
function source<T>() {
  const queue: T[] = [];
  let wake: (() => void) | undefined;
  let ended = false;
  async function* iterate(): AsyncGenerator<T> {
    for (;;) {
      if (queue.length) yield queue.shift()!;
      else if (ended) return;
      else await new Promise<void>((r) => (wake = r));
    }
  }
  return {
    it: iterate(),
    push: (...v: T[]) => {
      queue.push(...v);
      wake?.();
    },
    end: () => {
      ended = true;
      wake?.();
    },
  };
}

describe('BatchCollector', () => {
  it('closes a batch at maxSize', async () => {
    const s = source<number>();
    s.push(1, 2, 3, 4, 5);
    const c = new BatchCollector(s.it);
    expect(await c.next(2, 1000)).toEqual([1, 2]);
    expect(await c.next(2, 1000)).toEqual([3, 4]);
  });

  it('closes a batch maxWaitMs after its first item and keeps later items for the next', async () => {
    const s = source<number>();
    const c = new BatchCollector(s.it);
    s.push(1);
    const t0 = Date.now();
    expect(await c.next(10, 30)).toEqual([1]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    s.push(2, 3);
    expect(await c.next(10, 10)).toEqual([2, 3]);
  });

  it('hands out what it holds when the source ends, then null', async () => {
    const s = source<number>();
    const c = new BatchCollector(s.it);
    s.push(1, 2);
    const pending = c.next(10, 5000);
    setTimeout(() => s.end(), 10);
    expect(await pending).toEqual([1, 2]);
    expect(await c.next(10, 10)).toBeNull();
  });
});
