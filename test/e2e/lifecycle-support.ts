import { OperationSummary, Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { SystemOptions, TestSystem } from '../support/system';

export const RELEASE = process.env.KBUILD_TEST_RELEASE || '6.1.0-56-amd64';

/**
 * A TestSystem for the lifecycle tests: dispatchers tuned for tests (short timeouts, sweeps and
 * backoff) and a Redis database of its own, so its BullMQ build queue is not shared with other
 * e2e files running at the same time (their construct-svc workers would take its jobs).
 */
export function lifecycleSystem(redisDb: number, o: SystemOptions = {}): TestSystem {
  const redis = new URL(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
  redis.pathname = `/${redisDb}`;
  return new TestSystem({
    ...o,
    env: {
      REDIS_URL: redis.toString(),
      DISPATCH_SWEEP_MS: '500',
      COMMAND_TIMEOUT_MS: '2000',
      RETRY_BASE_MS: '200',
      RETRY_MAX_MS: '2000',
      INSTALL_CONFIRM_MS: '15000',
      ...o.env,
    },
  });
}

/** Waits until an operation has nothing pending and returns it. */
export function settled(sys: TestSystem, operationId: string, timeoutMs = 60_000): Promise<OperationSummary> {
  return pollUntil(async () => {
    const op = await sys.bus.request(Subjects.cmd.operationGet, undefined, { operationId });
    return op.pending === 0 ? op : null;
  }, `operation ${operationId} to settle`, timeoutMs, 100);
}

/** Builds `module` for the hosts and installs it (construct-svc writes the desired state, deploy-svc delivers). */
export async function buildAndInstall(sys: TestSystem, hostIds: number[], module = 'dns-tag', extra: Record<string, unknown> = {}): Promise<string> {
  const { operationId, targetCount } = await sys.bus.request(Subjects.cmd.build, undefined, {
    module, target: { hostIds }, install: true, applyNow: true, params: {}, toolchain: 'stamp', ...extra,
  } as never);
  expect(targetCount).toBe(hostIds.length);
  return operationId;
}

export interface DeploymentRow {
  host_id: number;
  module_id: number;
  module_name: string;
  state: string;
  active_mode: number;
  priority: number;
  deprecated: boolean;
  failure_reason: string | null;
  reported_at: Date | null;
}

export function deploymentsOf(sys: TestSystem, operationId: string): Promise<DeploymentRow[]> {
  return sys.query<DeploymentRow>(
    `SELECT host_id, module_id, module_name, state, active_mode, priority, deprecated, failure_reason, reported_at
     FROM deployments WHERE operation_id = $1 ORDER BY host_id`,
    [operationId],
  );
}

export async function deployment(sys: TestSystem, hostId: number, moduleId: number): Promise<DeploymentRow | undefined> {
  const rows = await sys.query<DeploymentRow>(
    `SELECT host_id, module_id, module_name, state, active_mode, priority, deprecated, failure_reason, reported_at
     FROM deployments WHERE host_id = $1 AND module_id = $2`,
    [hostId, moduleId],
  );
  return rows[0];
}

export async function countOf(sys: TestSystem, sql: string, params: unknown[] = []): Promise<number> {
  return Number((await sys.query<{ n: number }>(sql, params))[0].n);
}
