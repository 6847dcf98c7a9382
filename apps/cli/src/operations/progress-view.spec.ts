import { OperationSummary } from '@nco/events';
import { memoryOutput } from '../output/io';
import { lineView, progressViewFor, silentView } from './progress-view';

const op = (o: Partial<OperationSummary>): OperationSummary => ({
  id: '0f6c2a4e-0000-4000-8000-000000000000', kind: 'deploy', status: 'running', targetCount: 10, pending: 10, succeeded: 0, failed: 0,
  error: null, params: {}, createdAt: '2026-11-24T10:00:00.000Z', updatedAt: '2026-11-24T10:00:00.000Z', finishedAt: null, ...o,
});

describe('progress views', () => {
  it('prints a line per change at most every second, and always the last one', () => {
    const out = memoryOutput();
    let now = 0;
    const view = lineView(out, 1_000, () => now);
    view.update(op({}));
    view.update(op({}));
    now = 200;
    view.update(op({ succeeded: 3, pending: 7 }));
    now = 1_300;
    view.update(op({ succeeded: 6, failed: 1, pending: 3 }));
    now = 1_400;
    view.update(op({ succeeded: 9, failed: 1, pending: 0, status: 'partially_failed' }));
    view.stop();
    expect(out.stderr).toBe(
      'deploy 0f6c2a4e: 0/10 hosts settled (0 ok, 0 failed), running\n' +
        'deploy 0f6c2a4e: 7/10 hosts settled (6 ok, 1 failed), running\n' +
        'deploy 0f6c2a4e: 10/10 hosts settled (9 ok, 1 failed), partially_failed\n',
    );
  });

  it('prints a throttled change when it stops', () => {
    const out = memoryOutput();
    let now = 0;
    const view = lineView(out, 1_000, () => now);
    view.update(op({}));
    now = 10;
    view.update(op({ succeeded: 2, pending: 8 }));
    view.stop();
    expect(out.stderr.split('\n')[1]).toBe('deploy 0f6c2a4e: 2/10 hosts settled (2 ok, 0 failed), running');
  });

  it('is silent for --json and --quiet, lines in a pipe', () => {
    expect(progressViewFor(memoryOutput(), true)).toBe(silentView);
    const pipe = memoryOutput();
    progressViewFor(pipe, false).update(op({}));
    expect(pipe.stderr).toMatch(/0\/10 hosts settled/);
  });
});
