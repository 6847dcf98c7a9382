import { register } from 'prom-client';
import { countSettledOperations, recordBuild, recordChallenge, recordRefusal, trackBuildQueue } from './fleet-metrics';

const value = async (name: string, labels: Record<string, string>) =>
  (await register.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;

describe('fleet metrics', () => {
  it('counts an operation once when it has settled, by kind and outcome', async () => {
    countSettledOperations([
      { id: 'a', kind: 'deploy', status: 'running' },
      { id: 'b', kind: 'deploy', status: 'succeeded' },
      { id: 'c', kind: 'revoke', status: 'partially_failed' },
    ]);
    // Announced again (another progress event for the same settled operation): not counted twice.
    countSettledOperations([{ id: 'b', kind: 'deploy', status: 'succeeded' }]);
    expect(await value('nco_operations_total', { kind: 'deploy', outcome: 'succeeded' })).toBe(1);
    expect(await value('nco_operations_total', { kind: 'revoke', outcome: 'partially_failed' })).toBe(1);
    expect(await value('nco_operations_total', { kind: 'deploy', outcome: 'running' })).toBeUndefined();
  });

  it('records a build with its hosts and duration', async () => {
    recordBuild({ outcome: 'succeeded', compiled: true, durationMs: 1500, hostCount: 20 });
    expect(await value('nco_builds_total', { outcome: 'succeeded' })).toBe(1);
    expect(await value('nco_build_hosts_total', { outcome: 'succeeded' })).toBe(20);
    const h = (await register.getSingleMetric('nco_build_duration_seconds')!.get()).values as Array<{ metricName?: string; labels: Record<string, unknown>; value: number }>;
    expect(h.find((v) => v.metricName === 'nco_build_duration_seconds_sum')?.value).toBe(1.5);
    expect(h.find((v) => v.metricName === 'nco_build_duration_seconds_bucket' && v.labels.le === 1)?.value).toBe(0);
    expect(h.find((v) => v.metricName === 'nco_build_duration_seconds_bucket' && v.labels.le === 2.5)?.value).toBe(1);
  });

  it('records challenges and refusals by label', async () => {
    recordChallenge('passed', 3);
    recordChallenge('failed');
    recordRefusal('device', 'bad_signature');
    expect(await value('nco_security_challenges_total', { outcome: 'passed' })).toBe(3);
    expect(await value('nco_security_challenges_total', { outcome: 'failed' })).toBe(1);
    expect(await value('nco_refusals_total', { by: 'device', reason: 'bad_signature' })).toBe(1);
  });

  it('reads the build queue when scraped, from the latest reader, and keeps the last figures when it fails', async () => {
    const first = jest.fn(async () => ({ waiting: 1 }));
    trackBuildQueue(first);
    const read = jest.fn(async () => ({ waiting: 4, active: 2 }));
    trackBuildQueue(read);
    expect(read).not.toHaveBeenCalled();
    const text = await register.metrics();
    expect(text).toMatch(/nco_build_queue_jobs\{state="waiting"\} 4/);
    expect(text).toMatch(/nco_build_queue_jobs\{state="active"\} 2/);
    expect(first).not.toHaveBeenCalled();
    read.mockRejectedValueOnce(new Error('redis down'));
    expect(await register.metrics()).toMatch(/nco_build_queue_jobs\{state="waiting"\} 4/);
  });
});
