import type { ClaimedWork } from '@nco/cib';
import { NcoError } from '@nco/events';
import { fromError, fromReply, groupBy, outcomeLabel, planSettlement, retryDelayMs, Semaphore, WorkOutcome } from './outcome';

const row = (over: Partial<ClaimedWork> = {}): ClaimedWork => ({
  pendingId: 'p1', hostId: 7, moduleId: 3, kind: 'toggle', args: { mode: 0 }, operationId: null, attempts: 1, ...over,
});

describe('fromReply', () => {
  it('is done when the core answers Result 1 for the module asked about', () => {
    expect(fromReply(row(), { ID: 3, Result: 1 })).toEqual({ row: row(), result: 'done' });
  });

  it('is a refusal on Result 0, naming the command', () => {
    expect(fromReply(row({ kind: 'deprecate' }), { ID: 3, Result: 0 })).toMatchObject({ result: 'refused', cause: 'device', reason: expect.stringMatching(/refused the deprecate \(Result 0\)/) });
  });

  it('is a refusal when the answer is about another module', () => {
    expect(fromReply(row(), { ID: 4, Result: 1 })).toMatchObject({ result: 'refused', reason: 'the device answered for module 4, not 3' });
  });
});

describe('fromError', () => {
  it("records the device's error text as the reason of a refusal", () => {
    const o = fromError(row({ kind: 'install' }), new NcoError('invalid_request', 'module 3 is already loaded'));
    expect(o).toMatchObject({ result: 'refused', cause: 'device', reason: 'module 3 is already loaded' });
  });

  it.each(['invalid_message', 'conflict', 'not_found'] as const)('treats %s as a refusal', (code) => {
    expect(fromError(row(), new NcoError(code, 'no')).result).toBe('refused');
  });

  it.each(['timeout', 'unavailable', 'internal'] as const)('treats %s as transient, keeping code and text', (code) => {
    expect(fromError(row(), new NcoError(code, 'no answer'))).toMatchObject({ result: 'transient', error: `${code}: no answer` });
  });

  it('treats an unexpected exception as transient', () => {
    expect(fromError(row(), new Error('boom'))).toMatchObject({ result: 'transient', error: 'error: boom' });
  });
});

describe('retryDelayMs', () => {
  const mid = () => 0.5; // no jitter
  it('doubles from the base per attempt and stops at the maximum', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => retryDelayMs(a, 1000, 10_000, mid))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000]);
  });

  it('spreads retries by ±25 %', () => {
    expect(retryDelayMs(1, 1000, 10_000, () => 0)).toBe(750);
    expect(retryDelayMs(1, 1000, 10_000, () => 0.999999)).toBe(1250);
  });

  it('survives huge attempt counts', () => {
    expect(retryDelayMs(10_000, 1000, 60_000, mid)).toBe(60_000);
  });
});

describe('planSettlement', () => {
  it('sorts outcomes into one list per settle call, installs apart from commands', () => {
    const outcomes: WorkOutcome[] = [
      { row: row({ pendingId: 'i1', kind: 'install' }), result: 'done' },
      { row: row({ pendingId: 'i2', kind: 'install' }), result: 'refused', cause: 'artifact', reason: 'mismatch' },
      { row: row({ pendingId: 't1' }), result: 'done' },
      { row: row({ pendingId: 'r1', kind: 'revoke' }), result: 'refused', cause: 'device', reason: 'not loaded' },
      { row: row({ pendingId: 'x1', kind: 'priority', attempts: 3 }), result: 'transient', error: 'timeout: late' },
    ];
    const plan = planSettlement(outcomes, (a) => a * 100);
    expect(plan).toEqual({
      installsDelivered: ['i1'],
      installsRefused: [{ pendingId: 'i2', reason: 'mismatch' }],
      commandsDone: ['t1'],
      commandsRefused: [{ pendingId: 'r1', reason: 'not loaded' }],
      transient: [{ pendingId: 'x1', error: 'timeout: late', retryInMs: 300 }],
    });
  });

  it('labels outcomes for metrics', () => {
    expect(outcomeLabel({ row: row(), result: 'refused', cause: 'artifact', reason: '' })).toBe('mismatch');
    expect(outcomeLabel({ row: row(), result: 'refused', cause: 'device', reason: '' })).toBe('refused');
    expect(outcomeLabel({ row: row(), result: 'transient', error: '' })).toBe('transient');
  });
});

describe('Semaphore', () => {
  it('never runs more than its limit at once, and runs everything', async () => {
    const s = new Semaphore(3);
    let active = 0;
    let peak = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        s.run(async () => {
          active++;
          peak = Math.max(peak, active);
          await new Promise((r) => setTimeout(r, (i % 4) + 1));
          active--;
          done.push(i);
        }),
      ),
    );
    expect(peak).toBe(3);
    expect(done.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('frees the slot when a task throws', async () => {
    const s = new Semaphore(1);
    await expect(s.run(() => Promise.reject(new Error('x')))).rejects.toThrow('x');
    await expect(s.run(() => Promise.resolve(5))).resolves.toBe(5);
  });

  it('refuses a limit below one', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});

describe('groupBy', () => {
  it('keeps first-seen order', () => {
    expect([...groupBy([3, 1, 4, 1, 5, 9, 2, 6], (n) => n % 2)]).toEqual([[1, [3, 1, 1, 5, 9]], [0, [4, 2, 6]]]);
  });
});
