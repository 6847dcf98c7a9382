import { MicroBatcher } from './micro-batcher';

describe('MicroBatcher', () => {
  it('groups concurrent adds into batches of at most maxSize and answers each caller', async () => {
    const sizes: number[] = [];
    const b = new MicroBatcher<number, number>({ maxSize: 10, maxWaitMs: 5, handle: async (xs) => (sizes.push(xs.length), xs.map((x) => x * 2)) });
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => b.add(i)));
    expect(results).toEqual(Array.from({ length: 25 }, (_, i) => i * 2));
    expect(sizes).toEqual([10, 10, 5]);
  });

  it('flushes a lone item after maxWaitMs', async () => {
    const b = new MicroBatcher<string, string>({ maxSize: 100, maxWaitMs: 10, handle: async (xs) => xs.map((x) => x + '!') });
    const t = Date.now();
    expect(await b.add('a')).toBe('a!');
    expect(Date.now() - t).toBeGreaterThanOrEqual(8);
  });

  it('rejects every caller of a failed batch and keeps working', async () => {
    let fail = true;
    const b = new MicroBatcher<number, number>({ maxSize: 2, maxWaitMs: 1, handle: async (xs) => { if (fail) throw new Error('db down'); return xs; } });
    await expect(Promise.all([b.add(1), b.add(2)])).rejects.toThrow('db down');
    fail = false;
    expect(await b.add(3)).toBe(3);
  });

  it('drain waits for queued and running batches', async () => {
    const done: number[] = [];
    const b = new MicroBatcher<number, void>({ maxSize: 5, maxWaitMs: 50, handle: async (xs) => { await new Promise((r) => setTimeout(r, 10)); done.push(...xs); return xs.map(() => undefined); } });
    void b.add(1);
    void b.add(2);
    await b.drain();
    expect(done).toEqual([1, 2]);
  });
});
