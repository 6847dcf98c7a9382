import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { OperationEntity, PendingKind } from '../entities';

export interface TargetSpec {
  hostIds?: number[];
  labels?: Record<string, string>;
  all?: true;
  /** Only hosts with / without a middlebox type; default: only customizable hosts (no middleboxes). */
  middleboxes?: boolean;
}

export interface NewOperation {
  id: string;
  kind: string;
  params: Record<string, unknown>;
  requestedBy?: string | null;
}

export interface PendingRow {
  hostId: number;
  moduleId?: number | null;
  kind: PendingKind;
  args: Record<string, unknown>;
}

/** Operator operations: creation with their pending per-host rows, progress counters, queries. */
@Injectable()
export class OperationRepository {
  constructor(private readonly ds: DataSource) {}

  /** The host ids a target selects, in one query. Unknown ids in a list are returned separately. */
  async resolveTarget(t: TargetSpec): Promise<{ hostIds: number[]; unknown: number[] }> {
    const mb = t.middleboxes ? 'h.middlebox_type IS NOT NULL' : 'h.middlebox_type IS NULL';
    if (t.hostIds) {
      const rows: Array<{ host_id: number }> = await this.ds.query(
        `SELECT h.host_id FROM hosts h WHERE h.host_id = ANY($1::int[]) AND ${mb} ORDER BY h.host_id`,
        [t.hostIds],
      );
      const found = new Set(rows.map((r) => Number(r.host_id)));
      return { hostIds: [...found], unknown: t.hostIds.filter((id) => !found.has(id)) };
    }
    const rows: Array<{ host_id: number }> = t.labels
      ? await this.ds.query(`SELECT h.host_id FROM hosts h WHERE h.labels @> $1::jsonb AND ${mb} ORDER BY h.host_id`, [JSON.stringify(t.labels)])
      : await this.ds.query(`SELECT h.host_id FROM hosts h WHERE ${mb} ORDER BY h.host_id`);
    return { hostIds: rows.map((r) => Number(r.host_id)), unknown: [] };
  }

  /**
   * Writes the operation and its pending rows in one transaction (desired state before any
   * message leaves). Rows whose (host, module, kind) is already open are not queued again;
   * returns how many were queued. `alreadyDone` hosts need nothing (they are in the desired
   * state already): they count as targets that succeeded, so repeating a command is a no-op.
   */
  async create(op: NewOperation, rows: PendingRow[], m?: EntityManager, alreadyDone = 0): Promise<number> {
    const run = async (tx: EntityManager) => {
      await tx.query(
        `INSERT INTO operations (id, kind, status, params, requested_by) VALUES ($1, $2, 'running', $3, $4)`,
        [op.id, op.kind, JSON.stringify(op.params), op.requestedBy ?? null],
      );
      const queued = await this.addPending(op.id, rows, tx);
      // Counted from what was queued: a host whose identical request is already open is not a target twice.
      await tx.query(
        `UPDATE operations SET target_count = $2::int + $3::int, pending = $2::int, succeeded = $3::int,
           status = CASE WHEN $2::int = 0 AND $3::int > 0 THEN 'succeeded' ELSE status END,
           finished_at = CASE WHEN $2::int = 0 AND $3::int > 0 THEN now() END
         WHERE id = $1`,
        [op.id, queued, alreadyDone],
      );
      return queued;
    };
    return m ? run(m) : this.ds.transaction(run);
  }

  async addPending(operationId: string, rows: PendingRow[], m: EntityManager = this.ds.manager): Promise<number> {
    if (!rows.length) return 0;
    const inserted: unknown[] = await m.query(
      `INSERT INTO pending_operations (host_id, module_id, kind, args, operation_id)
       SELECT h, m, k, a, $5 FROM unnest($1::int[], $2::int[], $3::text[], $4::jsonb[]) AS t(h, m, k, a)
       ON CONFLICT DO NOTHING
       RETURNING id`,
      [rows.map((r) => r.hostId), rows.map((r) => r.moduleId ?? null), rows.map((r) => r.kind), rows.map((r) => JSON.stringify(r.args)), operationId],
    );
    return inserted.length;
  }

  /**
   * Moves `succeeded` / `failed` hosts out of pending and settles the status once nothing is
   * pending: succeeded, failed (none succeeded) or partially_failed.
   */
  async progress(operationId: string, succeeded: number, failed: number, m: EntityManager = this.ds.manager): Promise<OperationEntity | null> {
    if (!succeeded && !failed) return null;
    const rows: Array<Record<string, unknown>> = await m.query(
      `WITH upd AS (UPDATE operations SET
         succeeded = succeeded + $2, failed = failed + $3,
         pending = greatest(pending - $2 - $3, 0), updated_at = now(),
         status = CASE WHEN pending - $2 - $3 > 0 THEN status
                       WHEN failed + $3 = 0 THEN 'succeeded'
                       WHEN succeeded + $2 = 0 THEN 'failed'
                       ELSE 'partially_failed' END,
         finished_at = CASE WHEN pending - $2 - $3 <= 0 THEN now() ELSE NULL END
       WHERE id = $1 AND status IN ('pending','running')
       RETURNING *)
       SELECT * FROM upd`,
      [operationId, succeeded, failed],
    );
    return rows[0] ? mapOperation(rows[0]) : null;
  }

  async setTargets(operationId: string, count: number): Promise<void> {
    await this.ds.query(`UPDATE operations SET target_count = $2, pending = $2, updated_at = now() WHERE id = $1`, [operationId, count]);
  }

  /**
   * A rotation's progress from its hosts: done where the old module is gone, failed where the new
   * one could not be deployed (the old one stays there). Returns the row once it has finished.
   */
  async settleRotation(operationId: string, remaining: number, failed: number): Promise<OperationEntity | null> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `WITH upd AS (
         UPDATE operations SET
           pending = greatest($2::int - $3::int, 0), failed = $3::int, succeeded = greatest(target_count - $2::int, 0), updated_at = now(),
           status = CASE WHEN $2::int - $3::int > 0 THEN 'running' WHEN $3::int = 0 THEN 'succeeded'
                         WHEN target_count - $2::int <= 0 THEN 'failed' ELSE 'partially_failed' END,
           finished_at = CASE WHEN $2::int - $3::int > 0 THEN NULL ELSE now() END
         WHERE id = $1 AND status IN ('pending','running')
         RETURNING *
       ) SELECT * FROM upd`,
      [operationId, remaining, failed],
    );
    const op = rows[0] ? mapOperation(rows[0]) : null;
    return op && op.status !== 'running' ? op : null;
  }

  /** Marks an operation failed as a whole (e.g. nothing could be done), with the reason. */
  async fail(operationId: string, error: string): Promise<void> {
    await this.ds.query(
      `UPDATE operations SET status = 'failed', error = $2, failed = failed + pending, pending = 0, finished_at = now(), updated_at = now()
       WHERE id = $1 AND status IN ('pending','running')`,
      [operationId, error],
    );
  }

  async get(id: string): Promise<OperationEntity | null> {
    return this.ds.getRepository(OperationEntity).findOneBy({ id });
  }

  /**
   * Why hosts failed in an operation: refused or undeliverable device commands, failed
   * deployments and build errors, newest first, one row per (host, module).
   */
  async failures(operationId: string, limit = 100): Promise<Array<{ hostId: number | null; moduleId: number | null; kind: string; reason: string; at: Date }>> {
    const rows: Array<{ host_id: number | null; module_id: number | null; kind: string; reason: string; at: Date }> = await this.ds.query(
      `SELECT * FROM (
         SELECT DISTINCT ON (host_id, coalesce(module_id, 0)) host_id, module_id, kind, reason, at FROM (
           SELECT host_id, module_id, kind, coalesce(last_error, 'failed') AS reason, updated_at AS at
             FROM pending_operations WHERE operation_id = $1 AND state = 'failed'
           UNION ALL
           SELECT host_id, module_id, 'install', coalesce(failure_reason, 'failed'), updated_at
             FROM deployments WHERE operation_id = $1 AND state = 'failed'
           UNION ALL
           SELECT host_id, NULL, 'build', error, created_at FROM build_errors WHERE operation_id = $1
         ) f ORDER BY host_id, coalesce(module_id, 0), at DESC
       ) d ORDER BY at DESC LIMIT $2`,
      [operationId, limit],
    );
    return rows.map((r) => ({ hostId: r.host_id, moduleId: r.module_id, kind: r.kind, reason: r.reason, at: r.at }));
  }

  async recent(limit = 50): Promise<OperationEntity[]> {
    return this.ds.getRepository(OperationEntity).find({ order: { createdAt: 'DESC' }, take: limit });
  }
}

/** An `operations` row read with raw SQL, as the entity. */
export function mapOperation(r: Record<string, unknown>): OperationEntity {
  return Object.assign(new OperationEntity(), {
    id: r.id as string,
    kind: r.kind as string,
    status: r.status as OperationEntity['status'],
    params: r.params as Record<string, unknown>,
    targetCount: Number(r.target_count),
    pending: Number(r.pending),
    succeeded: Number(r.succeeded),
    failed: Number(r.failed),
    error: (r.error as string) ?? null,
    requestedBy: (r.requested_by as string) ?? null,
    createdAt: r.created_at as Date,
    updatedAt: r.updated_at as Date,
    finishedAt: (r.finished_at as Date) ?? null,
  });
}
