import type { ClaimedInverse } from '@nco/cib';
import { NcoError } from '@nco/events';
import pino from 'pino';
import { InverseReconciler } from './inverse-reconciler';

const config = {
  DISPATCH_BATCH: 2,
  DISPATCH_CONCURRENCY: 2,
  DISPATCH_SWEEP_MS: 60_000,
  MAX_ATTEMPTS: 3,
  RETRY_BASE_MS: 1_000,
  RETRY_MAX_MS: 8_000,
  COMMAND_TIMEOUT_MS: 1_000,
};

const row = (n: number, kind: ClaimedInverse['kind'] = 'inverse_install', attempts = 1): ClaimedInverse => ({
  pendingId: `p${n}`,
  hostId: 10 + n,
  kind,
  attempts,
  inverseId: 'i1',
  module: 'dns-tag',
  file: 'l45_dns_tag.lua',
  sha256: kind === 'inverse_install' ? 'a'.repeat(64) : null,
  content: kind === 'inverse_install' ? Buffer.from('x') : null,
});

function setup(batches: ClaimedInverse[][], minGapMs = 0) {
  const repo = {
    reconcile: jest.fn().mockResolvedValue({ synced: 0, required: 0, removing: 0, queued: 0, superseded: 0 }),
    claimDue: jest.fn(async () => batches.shift() ?? []),
    settle: jest.fn().mockResolvedValue({ done: 0, retried: 0, gaveUp: 0 }),
    requeueStale: jest.fn().mockResolvedValue(0),
    wakeHosts: jest.fn().mockResolvedValue(1),
  };
  const send = jest.fn(async (r: ClaimedInverse) => {
    if (r.hostId === 12) throw new NcoError('unavailable', 'cannot write l45_dns_tag.lua: ENOSPC');
    return { file: r.file, outcome: r.kind === 'inverse_install' ? ('installed' as const) : ('removed' as const) };
  });
  const reconciler = new InverseReconciler({ repo, send, config, log: pino({ level: 'silent' }), minGapMs });
  return { repo, send, reconciler };
}

describe('InverseReconciler', () => {
  it('reconciles, then claims, sends and settles batches until nothing is due', async () => {
    const { repo, send, reconciler } = setup([[row(1), row(2, 'inverse_install', 2)], [row(3, 'inverse_remove')]]);
    reconciler.kick();
    await reconciler.idle();
    expect(repo.reconcile).toHaveBeenCalledTimes(1);
    expect(repo.claimDue).toHaveBeenCalledTimes(3);
    expect(send).toHaveBeenCalledTimes(3);
    const [done, failed, max] = repo.settle.mock.calls[0];
    expect(done).toEqual([{ pendingId: 'p1', sha256: 'a'.repeat(64) }]);
    // Second attempt failed: backoff base × 2, ±25 % jitter.
    expect(failed).toEqual([{ pendingId: 'p2', error: 'unavailable: cannot write l45_dns_tag.lua: ENOSPC', retryInMs: expect.any(Number) }]);
    expect(failed[0].retryInMs).toBeGreaterThanOrEqual(1_500);
    expect(failed[0].retryInMs).toBeLessThanOrEqual(2_500);
    expect(max).toBe(3);
    expect(repo.settle.mock.calls[1]).toEqual([[{ pendingId: 'p3', sha256: undefined }], [], 3]);
  });

  it('treats an answer about another file as a failure', async () => {
    const { repo, send, reconciler } = setup([[row(1)]]);
    send.mockResolvedValueOnce({ file: 'other.lua', outcome: 'installed' });
    reconciler.kick();
    await reconciler.idle();
    expect(repo.settle.mock.calls[0][1]).toEqual([expect.objectContaining({ pendingId: 'p1', error: 'the middlebox answered for other.lua, not l45_dns_tag.lua' })]);
  });

  it('a kick during a round runs one more round; a woken middlebox makes its rows due and kicks', async () => {
    const { repo, reconciler } = setup([]);
    reconciler.kick();
    reconciler.kick();
    reconciler.kick();
    await reconciler.idle();
    expect(repo.reconcile).toHaveBeenCalledTimes(2);
    await reconciler.wake([11]);
    await reconciler.idle();
    expect(repo.wakeHosts).toHaveBeenCalledWith([11]);
    expect(repo.reconcile).toHaveBeenCalledTimes(3);
  });

  it('spaces rounds: a burst of kicks right after a round makes one more round after the gap', async () => {
    const { repo, reconciler } = setup([], 100);
    const t0 = Date.now();
    reconciler.kick();
    await reconciler.idle();
    for (let i = 0; i < 50; i++) reconciler.kick();
    await reconciler.idle();
    expect(repo.reconcile).toHaveBeenCalledTimes(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(95);
  });

  it('the sweep puts stale sent rows back and looks again; stop() waits for the round', async () => {
    const { repo, reconciler } = setup([[row(1)]]);
    await reconciler.sweep();
    await reconciler.stop();
    expect(repo.requeueStale).toHaveBeenCalledWith(1_000 * (1 + 1) + 5_000);
    expect(repo.settle).toHaveBeenCalledTimes(1);
    reconciler.kick();
    expect(repo.reconcile).toHaveBeenCalledTimes(1);
  });
});
