import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { OperationEntity } from '../entities';
import { mapOperation } from './operation.repository';

/** One module line of a report, flattened: Installed and Deprecated entries alike. */
export interface ReportedModule {
  hostId: number;
  moduleId: number;
  deprecated: boolean;
  activated: number;
  count: number;
  ts: number;
}

export interface RevokedModule {
  hostId: number;
  moduleId: number;
  ts: number;
}

export interface ReportLiveness {
  hostId: number;
  issuedAt: Date;
}

export interface LivenessRow {
  hostId: number;
  wasOnline: boolean;
  /** False when a newer report of this host was already applied: its module lines are skipped. */
  fresh: boolean;
}

export interface FindingRow {
  hostId: number;
  moduleId: number;
  kind: 'installed' | 'unknown_module' | 'missing_module' | 'revoked' | 'recovered';
  moduleName: string | null;
}

type Row = Record<string, unknown>;
const toFinding = (kind: FindingRow['kind']) => (r: Row): FindingRow => ({
  hostId: Number(r.host_id),
  moduleId: Number(r.module_id),
  kind,
  moduleName: (r.module_name as string) ?? null,
});

/**
 * The brief's report rules as set-based statements: each method applies one rule to every
 * report of a batch at once. Call them inside `transaction()` so a batch is applied whole.
 * An UPDATE … RETURNING is wrapped in `WITH … SELECT`: TypeORM's query() answers a bare UPDATE
 * with `[rows, rowCount]` instead of the rows.
 */
export class ReportRules {
  constructor(private readonly m: EntityManager) {}

  /** Marks reporting hosts online and seen; rows lock in host order so concurrent batches queue. */
  async touchLiveness(reports: ReportLiveness[]): Promise<LivenessRow[]> {
    const rows: Row[] = await this.m.query(
      `WITH r AS (SELECT * FROM unnest($1::int[], $2::timestamptz[]) AS r(host_id, issued_at)),
       prev AS (
         SELECT h.host_id, h.online, h.last_report_issued_at FROM hosts h
         WHERE h.host_id = ANY($1::int[]) ORDER BY h.host_id FOR UPDATE
       ),
       upd AS (
         UPDATE hosts h SET
           online = true, last_seen_at = now(), updated_at = now(),
           last_report_at = now(),
           last_report_issued_at = greatest(prev.last_report_issued_at, r.issued_at)
         FROM r JOIN prev USING (host_id)
         WHERE h.host_id = r.host_id
         RETURNING h.host_id, prev.online AS was_online,
                   (prev.last_report_issued_at IS NULL OR r.issued_at >= prev.last_report_issued_at) AS fresh
       )
       SELECT * FROM upd`,
      [reports.map((r) => r.hostId), reports.map((r) => r.issuedAt)],
    );
    return rows.map((r) => ({ hostId: Number(r.host_id), wasOnline: r.was_online as boolean, fresh: r.fresh as boolean }));
  }

  /**
   * Revoked by the core → the deployed row goes, a revocation is recorded once per kernel event
   * (an operator's revoke recorded by revoke-svc gets the event's timestamp instead of a twin).
   * A kernel event already recorded (the core repeats its Revoked list) changes nothing, so a
   * module deployed again under the same id is not deleted by an old revocation.
   */
  async applyRevoked(revoked: RevokedModule[]): Promise<FindingRow[]> {
    if (!revoked.length) return [];
    const rows: Row[] = await this.m.query(
      `WITH v AS (
         SELECT * FROM unnest($1::int[], $2::int[], $3::float8[]) AS n(host_id, module_id, ts)
         WHERE NOT EXISTS (SELECT 1 FROM revocations r
                           WHERE r.host_id = n.host_id AND r.module_id = n.module_id AND r.kernel_ts = n.ts)
       ),
       del AS (
         DELETE FROM deployments d USING v WHERE d.host_id = v.host_id AND d.module_id = v.module_id
         RETURNING d.host_id, d.module_id, d.module_name
       ),
       bm AS (
         UPDATE built_modules b SET req_install = false FROM v
         WHERE b.host_id = v.host_id AND b.module_id = v.module_id AND b.req_install
       ),
       po AS (
         UPDATE pending_operations p SET state = 'done', updated_at = now() FROM v
         WHERE p.host_id = v.host_id AND p.module_id = v.module_id AND p.kind = 'revoke' AND p.state IN ('pending','sent')
       ),
       unk AS (DELETE FROM unknown_modules u USING v WHERE u.host_id = v.host_id AND u.module_id = v.module_id),
       -- An operator's revoke already recorded (revoke-svc): the core's event confirms that row.
       conf AS (
         UPDATE revocations r SET kernel_ts = v.ts FROM v
         WHERE r.host_id = v.host_id AND r.module_id = v.module_id AND r.kernel_ts IS NULL AND r.source <> 'report'
         RETURNING r.host_id, r.module_id, r.module_name
       ),
       ins AS (
         INSERT INTO revocations (host_id, module_id, module_name, source, reason, kernel_ts)
         SELECT v.host_id, v.module_id,
                coalesce(del.module_name, (SELECT b.module_name FROM built_modules b WHERE b.host_id = v.host_id AND b.module_id = v.module_id)),
                'report', 'reported revoked by the kernel core', v.ts
         FROM v LEFT JOIN del USING (host_id, module_id)
         WHERE NOT EXISTS (SELECT 1 FROM conf c WHERE c.host_id = v.host_id AND c.module_id = v.module_id)
         ON CONFLICT (host_id, module_id, kernel_ts) WHERE kernel_ts IS NOT NULL DO NOTHING
         RETURNING host_id, module_id, module_name
       )
       SELECT * FROM ins UNION ALL SELECT * FROM conf`,
      [revoked.map((r) => r.hostId), revoked.map((r) => r.moduleId), revoked.map((r) => r.ts)],
    );
    return rows.map(toFinding('revoked'));
  }

  /**
   * Reported modules: known → counts, mode and time updated (a pending install becomes installed,
   * a host error clears); built and awaiting install without a deployment row → adopted as
   * installed; never built → flagged as unknown (one finding when first seen). `$7`, the batch's
   * host ids, bounds every look-up of deployments to those hosts. The previous state travels through
   * the UPDATE's RETURNING: joining two CTEs (upd × old) gets a row estimate of 1 and a nested loop,
   * quadratic in the batch (over a second per 3,000 lines).
   */
  async applyReported(mods: ReportedModule[]): Promise<FindingRow[]> {
    if (!mods.length) return [];
    const rows: Row[] = await this.m.query(
      `WITH e AS (
         SELECT * FROM unnest($1::int[], $2::int[], $3::bool[], $4::smallint[], $5::int[], $6::float8[])
           AS e(host_id, module_id, deprecated, activated, cnt, ts)
       ),
       old AS (
         SELECT e.*, d.state AS old_state, d.host_error_at AS old_error FROM e
         JOIN deployments d USING (host_id, module_id) WHERE d.state <> 'failed' AND d.host_id = ANY($7::int[])
       ),
       upd AS (
         UPDATE deployments d SET
           socket_count = o.cnt, active_mode = o.activated, deprecated = o.deprecated, kernel_ts = o.ts,
           reported_at = now(), host_error_at = NULL, updated_at = now(),
           state = CASE WHEN d.state IN ('pending','delivered') THEN 'installed' ELSE d.state END,
           installed_at = CASE WHEN d.state IN ('pending','delivered') THEN now() ELSE d.installed_at END
         FROM old o WHERE d.host_id = o.host_id AND d.module_id = o.module_id
         RETURNING d.host_id, d.module_id, d.module_name, o.old_state, o.old_error
       ),
       adopt AS (
         INSERT INTO deployments (host_id, module_id, built_module_id, module_name, state, active_mode, priority,
                                  deprecated, socket_count, reported_at, kernel_ts, installed_at, operation_id)
         SELECT e.host_id, e.module_id, b.id, b.module_name, 'installed', e.activated, b.priority,
                e.deprecated, e.cnt, now(), e.ts, now(), b.operation_id
         FROM e JOIN built_modules b ON b.host_id = e.host_id AND b.module_id = e.module_id AND b.req_install
         WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.host_id = e.host_id AND d.module_id = e.module_id AND d.host_id = ANY($7::int[]))
         ON CONFLICT DO NOTHING
         RETURNING host_id, module_id, module_name
       ),
       bm AS (
         UPDATE built_modules b SET req_install = false FROM e
         WHERE b.host_id = e.host_id AND b.module_id = e.module_id AND b.req_install
       ),
       po AS (
         UPDATE pending_operations p SET state = 'done', updated_at = now() FROM e
         WHERE p.host_id = e.host_id AND p.module_id = e.module_id AND p.kind = 'install' AND p.state IN ('pending','sent')
       ),
       unk AS (
         INSERT INTO unknown_modules AS u (host_id, module_id, active_mode, socket_count)
         SELECT e.host_id, e.module_id, e.activated, e.cnt FROM e
         WHERE NOT EXISTS (SELECT 1 FROM deployments d WHERE d.host_id = e.host_id AND d.module_id = e.module_id AND d.host_id = ANY($7::int[]))
           AND NOT EXISTS (SELECT 1 FROM built_modules b WHERE b.host_id = e.host_id AND b.module_id = e.module_id AND b.req_install)
         ON CONFLICT (host_id, module_id) DO UPDATE
           SET last_seen_at = now(), active_mode = EXCLUDED.active_mode, socket_count = EXCLUDED.socket_count
         RETURNING u.host_id, u.module_id, (xmax = 0) AS inserted
       )
       SELECT 'installed' AS kind, host_id, module_id, module_name FROM upd WHERE old_state IN ('pending','delivered')
       UNION ALL SELECT 'installed', host_id, module_id, module_name FROM adopt
       UNION ALL SELECT 'recovered', host_id, module_id, module_name FROM upd WHERE old_error IS NOT NULL
       UNION ALL SELECT 'unknown_module', host_id, module_id, NULL FROM unk WHERE inserted`,
      [
        mods.map((m) => m.hostId),
        mods.map((m) => m.moduleId),
        mods.map((m) => m.deprecated),
        mods.map((m) => m.activated),
        mods.map((m) => m.count),
        mods.map((m) => m.ts),
        [...new Set(mods.map((m) => m.hostId))],
      ],
    );
    return rows.map((r) => toFinding(r.kind as FindingRow['kind'])(r));
  }

  /**
   * Installs confirmed by this batch count as succeeded hosts of the operations that asked for
   * them (a deploy succeeds per host when the device reports the module, not when it was sent).
   * Returns the operations it moved, for progress events.
   */
  async progressInstalls(installed: Array<{ hostId: number; moduleId: number }>): Promise<OperationEntity[]> {
    if (!installed.length) return [];
    const rows: Row[] = await this.m.query(
      `WITH f AS (SELECT * FROM unnest($1::int[], $2::int[]) AS f(host_id, module_id)),
       per_op AS (
         SELECT d.operation_id, count(*)::int AS n FROM deployments d JOIN f USING (host_id, module_id)
         WHERE d.operation_id IS NOT NULL GROUP BY d.operation_id
       ),
       upd AS (
         UPDATE operations o SET
           succeeded = o.succeeded + p.n, pending = greatest(o.pending - p.n, 0), updated_at = now(),
           status = CASE WHEN o.pending - p.n > 0 THEN o.status WHEN o.failed = 0 THEN 'succeeded' ELSE 'partially_failed' END,
           finished_at = CASE WHEN o.pending - p.n > 0 THEN NULL ELSE now() END
         FROM per_op p WHERE o.id = p.operation_id AND o.status IN ('pending','running')
         RETURNING o.*
       )
       SELECT * FROM upd`,
      [installed.map((i) => i.hostId), installed.map((i) => i.moduleId)],
    );
    return rows.map(mapOperation);
  }

  /** Known and installed, but absent from its host's report → the deployment's host-error time is set. */
  async flagMissing(hostIds: number[], reported: Array<{ hostId: number; moduleId: number }>): Promise<FindingRow[]> {
    if (!hostIds.length) return [];
    const rows: Row[] = await this.m.query(
      `WITH e AS (SELECT * FROM unnest($2::int[], $3::int[]) AS e(host_id, module_id)),
       upd AS (
         UPDATE deployments d SET host_error_at = now(), updated_at = now()
         WHERE d.host_id = ANY($1::int[]) AND d.state IN ('installed','verified') AND d.host_error_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM e WHERE e.host_id = d.host_id AND e.module_id = d.module_id)
         RETURNING d.host_id, d.module_id, d.module_name
       )
       SELECT * FROM upd`,
      [hostIds, reported.map((r) => r.hostId), reported.map((r) => r.moduleId)],
    );
    return rows.map(toFinding('missing_module'));
  }
}

@Injectable()
export class ReportRepository {
  constructor(private readonly ds: DataSource) {}

  /** Runs `fn` in one transaction: the batch is applied whole or not at all. */
  transaction<T>(fn: (rules: ReportRules) => Promise<T>): Promise<T> {
    return this.ds.transaction((m) => fn(new ReportRules(m)));
  }
}
