import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface RotationStep {
  operationId: string;
  /** Hosts whose old module must now be deprecated (the new one is installed there). */
  deprecate: Array<{ hostId: number; moduleId: number }>;
  /** Hosts whose old module is drained (no sockets) or past the drain timeout: revoke it. */
  revoke: Array<{ hostId: number; moduleId: number; drained: boolean }>;
  /** Hosts still holding the old module. */
  remaining: number;
  /** Hosts where the new module failed to deploy: the old one stays, the rotation fails there. */
  failed: number;
}

type Row = Record<string, unknown>;

/** Operator views of hosts and deployments, labels, and the rotation workflow's state. */
@Injectable()
export class LifecycleRepository {
  constructor(private readonly ds: DataSource) {}

  async label(hostIds: number[], set: Record<string, string>, remove: string[]): Promise<number> {
    const rows: Row[] = await this.ds.query(
      `WITH upd AS (
         UPDATE hosts SET labels = (labels || $2::jsonb) - $3::text[], updated_at = now()
         WHERE host_id = ANY($1::int[]) RETURNING host_id
       ) SELECT count(*)::int AS n FROM upd`,
      [hostIds, JSON.stringify(set), remove],
    );
    return Number(rows[0].n);
  }

  async hostModules(hostId: number) {
    const [exists, deployments, unknown, pending] = await Promise.all([
      this.ds.query(`SELECT 1 FROM hosts WHERE host_id = $1`, [hostId]) as Promise<Row[]>,
      this.ds.query(
        `SELECT host_id, module_id, module_name, state, active_mode, priority, deprecated, socket_count, reported_at,
                host_error_at, security_checked_at, security_window_s, failure_reason, operation_id
         FROM deployments WHERE host_id = $1 ORDER BY module_id`,
        [hostId],
      ) as Promise<Row[]>,
      this.ds.query(`SELECT module_id, first_seen_at, last_seen_at FROM unknown_modules WHERE host_id = $1 ORDER BY module_id`, [hostId]) as Promise<Row[]>,
      this.ds.query(
        `SELECT kind, module_id, state, attempts, last_error FROM pending_operations
         WHERE host_id = $1 AND state IN ('pending','sent') ORDER BY created_at`,
        [hostId],
      ) as Promise<Row[]>,
    ]);
    if (exists.length === 0) return null;
    const iso = (d: unknown) => (d ? (d as Date).toISOString() : null);
    return {
      hostId,
      deployments: deployments.map((d) => ({
        hostId: Number(d.host_id),
        moduleId: Number(d.module_id),
        moduleName: d.module_name as string,
        state: d.state as 'pending' | 'delivered' | 'installed' | 'verified' | 'failed',
        activeMode: Number(d.active_mode),
        priority: Number(d.priority),
        deprecated: d.deprecated as boolean,
        socketCount: Number(d.socket_count),
        reportedAt: iso(d.reported_at),
        hostErrorAt: iso(d.host_error_at),
        securityCheckedAt: iso(d.security_checked_at),
        securityWindowS: d.security_window_s === null ? null : Number(d.security_window_s),
        failureReason: (d.failure_reason as string) ?? null,
        operationId: (d.operation_id as string) ?? null,
      })),
      unknown: unknown.map((u) => ({ moduleId: Number(u.module_id), firstSeenAt: iso(u.first_seen_at)!, lastSeenAt: iso(u.last_seen_at)! })),
      pending: pending.map((p) => ({
        kind: p.kind as string,
        moduleId: p.module_id === null ? null : Number(p.module_id),
        state: p.state as string,
        attempts: Number(p.attempts),
        lastError: (p.last_error as string) ?? null,
      })),
    };
  }

  /** Of `hostIds`, those with a live deployment of `module`. */
  async hostsWithModule(hostIds: number[], module: string): Promise<number[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT DISTINCT host_id FROM deployments WHERE host_id = ANY($1::int[]) AND module_name = $2 AND state <> 'failed' ORDER BY host_id`,
      [hostIds, module],
    );
    return rows.map((r) => Number(r.host_id));
  }

  async startRotation(r: { operationId: string; deployOperationId: string; from: string; to: string; hostIds: number[]; drainTimeoutMs: number }): Promise<void> {
    await this.ds.query(
      `INSERT INTO rotations (operation_id, deploy_operation_id, from_module, to_module, host_ids, drain_timeout_ms)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [r.operationId, r.deployOperationId, r.from, r.to, r.hostIds, r.drainTimeoutMs],
    );
  }

  async runningRotations(): Promise<Array<{ operationId: string; deployOperationId: string; from: string; to: string; hostIds: number[]; drainTimeoutMs: number }>> {
    const rows: Row[] = await this.ds.query(
      `SELECT operation_id, deploy_operation_id, from_module, to_module, host_ids, drain_timeout_ms FROM rotations WHERE state = 'running'`,
    );
    return rows.map((r) => ({
      operationId: r.operation_id as string,
      deployOperationId: r.deploy_operation_id as string,
      from: r.from_module as string,
      to: r.to_module as string,
      hostIds: (r.host_ids as number[]).map(Number),
      drainTimeoutMs: Number(r.drain_timeout_ms),
    }));
  }

  /**
   * One reconcile step of a rotation, for all its hosts at once: where the new module is
   * installed and the old one still takes new sockets → deprecate it; where the old one is
   * deprecated and has no sockets left, or its drain time is up → revoke it. Steps already
   * pending are not repeated.
   */
  async rotationStep(r: { operationId: string; deployOperationId: string; from: string; hostIds: number[]; drainTimeoutMs: number }): Promise<RotationStep> {
    const rows: Row[] = await this.ds.query(
      `WITH neu AS (
         SELECT host_id, state FROM deployments WHERE operation_id = $2 AND host_id = ANY($1::int[])
       ),
       old AS (
         SELECT d.host_id, d.module_id, d.deprecated, d.socket_count, coalesce(d.deprecated_at, d.updated_at) AS deprecated_at
         FROM deployments d
         WHERE d.host_id = ANY($1::int[]) AND d.module_name = $3 AND d.state IN ('installed','verified','delivered','pending')
           AND (d.operation_id IS DISTINCT FROM $2)
       ),
       open AS (
         SELECT host_id, module_id, kind FROM pending_operations
         WHERE host_id = ANY($1::int[]) AND kind IN ('deprecate','revoke') AND state IN ('pending','sent')
       )
       SELECT 'deprecate' AS action, o.host_id, o.module_id, false AS drained FROM old o JOIN neu n USING (host_id)
         WHERE n.state IN ('installed','verified') AND NOT o.deprecated
           AND NOT EXISTS (SELECT 1 FROM open p WHERE p.host_id = o.host_id AND p.module_id = o.module_id)
       UNION ALL
       SELECT 'revoke', o.host_id, o.module_id, o.socket_count = 0 FROM old o
         WHERE o.deprecated AND (o.socket_count = 0 OR o.deprecated_at < now() - make_interval(secs => $4::float8 / 1000))
           AND NOT EXISTS (SELECT 1 FROM open p WHERE p.host_id = o.host_id AND p.module_id = o.module_id AND p.kind = 'revoke')
       UNION ALL
       SELECT 'remaining', count(*)::int, 0, false FROM old
       UNION ALL
       SELECT 'failed', count(*)::int, 0, false FROM neu WHERE state = 'failed'`,
      [r.hostIds, r.deployOperationId, r.from, r.drainTimeoutMs],
    );
    const step: RotationStep = { operationId: r.operationId, deprecate: [], revoke: [], remaining: 0, failed: 0 };
    for (const row of rows) {
      if (row.action === 'deprecate') step.deprecate.push({ hostId: Number(row.host_id), moduleId: Number(row.module_id) });
      else if (row.action === 'revoke') step.revoke.push({ hostId: Number(row.host_id), moduleId: Number(row.module_id), drained: row.drained as boolean });
      else if (row.action === 'remaining') step.remaining = Number(row.host_id);
      else step.failed = Number(row.host_id);
    }
    return step;
  }

  async finishRotation(operationId: string, state: 'done' | 'failed'): Promise<void> {
    await this.ds.query(`UPDATE rotations SET state = $2, updated_at = now() WHERE operation_id = $1`, [operationId, state]);
  }
}
