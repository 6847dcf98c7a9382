import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { DeploymentState, OperationEntity } from '../entities';
import { mapOperation, NewOperation, OperationRepository, TargetSpec } from './operation.repository';

/** Operator commands a device answers with `{ID, Result}`. */
export type CommandKind = 'toggle' | 'priority' | 'deprecate' | 'revoke';
/** Every kind of pending row that is carried to a device by a dispatcher. */
export type DeviceWorkKind = 'install' | CommandKind;
export const DEVICE_WORK_KINDS: readonly DeviceWorkKind[] = ['install', 'toggle', 'priority', 'deprecate', 'revoke'];

/** Which module of a host a lifecycle command means: by catalog name, or by module id. */
export interface ModuleSelector {
  module?: string;
  moduleId?: number;
}

export interface SelectedDeployment {
  hostId: number;
  moduleId: number;
  moduleName: string;
  state: DeploymentState;
  activeMode: number;
  priority: number;
  deprecated: boolean;
}

export interface CommandRow {
  hostId: number;
  moduleId: number;
  args: Record<string, unknown>;
}

/** A pending row taken by one dispatcher (state 'sent', attempts already counted). */
export interface ClaimedWork {
  pendingId: string;
  hostId: number;
  moduleId: number;
  kind: DeviceWorkKind;
  args: Record<string, unknown>;
  operationId: string | null;
  /** Including this one. */
  attempts: number;
}

/** What the NCO needs to re-create and send one host's module. */
export interface InstallPayload {
  pendingId: string;
  hostId: number;
  moduleId: number;
  moduleName: string;
  keyId: string | null;
  activeMode: 0 | 1;
  priority: number;
  applyNow: boolean;
  params: Record<string, string | number | boolean>;
  /** `stamp:os:template/<flavor>.ko` (re-stamped at delivery) or `os:<name>` (stored as is). */
  artifactRef: string;
  artifactSha256: string;
  artifactSize: number;
  /** The compiled template a stamped module comes from, and its sha256 (build_flavors). */
  templateSha256: string | null;
}

export interface Refusal {
  pendingId: string;
  reason: string;
}

export interface TransientFailure {
  pendingId: string;
  error: string;
  /** When to try again (exponential backoff, computed by the caller from `attempts`). */
  retryInMs: number;
}

export interface SettleResult {
  /** Pending rows this call moved (rows already settled by someone else are not counted). */
  settled: number;
  /** Operations whose counters moved, as they are now (for progress events). */
  operations: OperationEntity[];
}

export interface TransientResult extends SettleResult {
  /** Rows put back to wait. */
  retried: number;
  /** Rows that ran out of attempts and failed (included in `settled`). */
  exhausted: number;
}

export interface StaleOptions {
  kinds: readonly DeviceWorkKind[];
  /** A command 'sent' longer than this has lost its sender (replica died mid-flight). */
  commandsOlderThanMs: number;
  /** An install 'sent' (delivered or not) and unconfirmed by a report for longer than this is sent again. */
  installsOlderThanMs: number;
  maxAttempts: number;
}

export interface PriorityCollision {
  hostId: number;
  /** The module that wanted the priority. */
  moduleId: number;
  /** The module that holds it (deployed, awaiting install, or asked for by an open command). */
  holderModuleId: number;
}

type Row = Record<string, unknown>;

/** Thrown inside the transaction to roll the operation back when no row was queued. */
class NothingQueued extends Error {}

/**
 * Counts of moved pending rows → operation progress, for every operation of a batch in one
 * statement. `src` is a CTE with columns (operation_id, ok, bad); finished operations settle
 * their status as OperationRepository.progress does.
 */
const PROGRESS_SQL = (src: string) => `
  prog AS (
    UPDATE operations o SET
      succeeded = o.succeeded + c.ok, failed = o.failed + c.bad,
      pending = greatest(o.pending - c.ok - c.bad, 0), updated_at = now(),
      status = CASE WHEN o.pending - c.ok - c.bad > 0 THEN o.status
                    WHEN o.failed + c.bad = 0 THEN 'succeeded'
                    WHEN o.succeeded + c.ok = 0 THEN 'failed'
                    ELSE 'partially_failed' END,
      finished_at = CASE WHEN o.pending - c.ok - c.bad > 0 THEN NULL ELSE now() END
    FROM (SELECT operation_id, sum(ok)::int AS ok, sum(bad)::int AS bad FROM ${src} GROUP BY operation_id) c
    WHERE o.id = c.operation_id AND o.status IN ('pending','running')
    RETURNING o.*
  )`;

/**
 * Which moved rows count towards their operation: an install counts for the deploy that asked
 * for it; a command only for an operation of its own kind (a rotation's deprecate and revoke
 * rows are progressed by the rotation itself, from the deployments).
 */
const COUNTS = `(p.kind = 'install' OR o.kind = p.kind)`;

/**
 * Device work: the pending rows that deploy-svc and revoke-svc carry to devices (install,
 * toggle, priority, deprecate, revoke), set-based: one statement (or one transaction) per
 * batch, never one round trip per host. Claims use `FOR UPDATE SKIP LOCKED`, so replicas never
 * send the same row twice; every settle only moves rows still 'sent', so a late or repeated
 * settle changes nothing.
 *
 * Work on one (host, module) is carried in order: a row is claimable only when no older open
 * row of a device kind exists for the same (host, module) — a toggle waits for the install it
 * follows, a revoke for the toggle given before it.
 */
@Injectable()
export class DeviceWorkRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly operations: OperationRepository,
  ) {}

  /** The live (non-failed) deployments an operator selector matches on the target hosts, in one query. */
  async selectDeployments(target: TargetSpec, selector: ModuleSelector): Promise<SelectedDeployment[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT d.host_id, d.module_id, d.module_name, d.state, d.active_mode, d.priority, d.deprecated
       FROM deployments d JOIN hosts h ON h.host_id = d.host_id
       WHERE d.state <> 'failed'
         AND ($1::int[] IS NULL OR d.host_id = ANY($1::int[]))
         AND ($2::jsonb IS NULL OR h.labels @> $2::jsonb)
         AND ($3::text IS NULL OR d.module_name = $3)
         AND ($4::int IS NULL OR d.module_id = $4)
       ORDER BY d.host_id, d.module_id`,
      [target.hostIds ?? null, target.labels ? JSON.stringify(target.labels) : null, selector.module ?? null, selector.moduleId ?? null],
    );
    return rows.map((r) => ({
      hostId: Number(r.host_id),
      moduleId: Number(r.module_id),
      moduleName: r.module_name as string,
      state: r.state as DeploymentState,
      activeMode: Number(r.active_mode),
      priority: Number(r.priority),
      deprecated: r.deprecated as boolean,
    }));
  }

  /**
   * Hosts where setting `priority` on the selected module would collide: another live module
   * holds it, a built module awaiting install holds it, or an open priority command asks for it.
   */
  async priorityCollisions(selected: Array<{ hostId: number; moduleId: number }>, priority: number): Promise<PriorityCollision[]> {
    if (!selected.length) return [];
    const rows: Row[] = await this.ds.query(
      `WITH s AS (SELECT * FROM unnest($1::int[], $2::int[]) AS s(host_id, module_id))
       SELECT s.host_id, s.module_id, d.module_id AS holder FROM s
         JOIN deployments d ON d.host_id = s.host_id AND d.module_id <> s.module_id AND d.priority = $3 AND d.state <> 'failed'
       UNION
       SELECT s.host_id, s.module_id, b.module_id FROM s
         JOIN built_modules b ON b.host_id = s.host_id AND b.module_id <> s.module_id AND b.priority = $3 AND b.req_install
       UNION
       SELECT s.host_id, s.module_id, p.module_id FROM s
         JOIN pending_operations p ON p.host_id = s.host_id AND p.module_id <> s.module_id AND p.kind = 'priority'
          AND p.state IN ('pending','sent') AND (p.args->>'priority')::int = $3
       ORDER BY 1, 2, 3`,
      [selected.map((s) => s.hostId), selected.map((s) => s.moduleId), priority],
    );
    return rows.map((r) => ({ hostId: Number(r.host_id), moduleId: Number(r.module_id), holderModuleId: Number(r.holder) }));
  }

  /**
   * Writes a command operation and its pending rows in one transaction. A (host, module, kind)
   * already open is not queued again (the unique index); the operation counts only what was
   * queued. Nothing queued → nothing is written and 0 is returned (the caller refuses).
   */
  async createCommandOperation(op: NewOperation & { kind: CommandKind }, rows: CommandRow[]): Promise<number> {
    try {
      return await this.ds.transaction(async (m) => {
        const queued = await this.operations.create(op, rows.map((r) => ({ hostId: r.hostId, moduleId: r.moduleId, kind: op.kind, args: r.args })), m);
        if (queued === 0) throw new NothingQueued();
        return queued;
      });
    } catch (e) {
      if (e instanceof NothingQueued) return 0;
      throw e;
    }
  }

  /**
   * Claims up to `limit` due pending rows of `kinds` for hosts that are online: state → 'sent',
   * attempts + 1. Rows locked by another replica are skipped; a row waits while an older open
   * row of the same (host, module) exists.
   */
  async claimDue(kinds: readonly DeviceWorkKind[], limit: number): Promise<ClaimedWork[]> {
    const rows: Row[] = await this.ds.query(
      `WITH due AS (
         SELECT p.id FROM pending_operations p
         JOIN hosts h ON h.host_id = p.host_id
         WHERE p.state = 'pending' AND p.kind = ANY($1::text[]) AND p.not_before <= now() AND h.online
           AND NOT EXISTS (
             SELECT 1 FROM pending_operations o
             WHERE o.host_id = p.host_id AND coalesce(o.module_id, 0) = coalesce(p.module_id, 0)
               AND o.state IN ('pending','sent') AND o.kind = ANY($3::text[])
               AND (o.created_at, o.id) < (p.created_at, p.id))
         ORDER BY p.not_before, p.created_at
         LIMIT $2
         FOR UPDATE OF p SKIP LOCKED
       ),
       claimed AS (
         UPDATE pending_operations p SET state = 'sent', attempts = p.attempts + 1, updated_at = now()
         FROM due WHERE p.id = due.id
         RETURNING p.id, p.host_id, p.module_id, p.kind, p.args, p.operation_id, p.attempts
       )
       SELECT * FROM claimed`,
      [kinds, limit, DEVICE_WORK_KINDS],
    );
    return rows.map((r) => ({
      pendingId: r.id as string,
      hostId: Number(r.host_id),
      moduleId: Number(r.module_id),
      kind: r.kind as DeviceWorkKind,
      args: (r.args as Record<string, unknown>) ?? {},
      operationId: (r.operation_id as string) ?? null,
      attempts: Number(r.attempts),
    }));
  }

  /** A host came back: its waiting rows of `kinds` are due now instead of after their backoff. */
  async wakeHosts(hostIds: number[], kinds: readonly DeviceWorkKind[]): Promise<number> {
    if (!hostIds.length) return 0;
    const rows: Row[] = await this.ds.query(
      `WITH woke AS (
         UPDATE pending_operations SET not_before = now(), updated_at = now()
         WHERE host_id = ANY($1::int[]) AND kind = ANY($2::text[]) AND state = 'pending' AND not_before > now()
         RETURNING id
       )
       SELECT count(*)::int AS n FROM woke`,
      [hostIds, kinds],
    );
    return Number(rows[0].n);
  }

  /**
   * 'sent' rows whose answer never came (the sender died, the device vanished) go back to
   * pending; an install that stays unconfirmed by a report is sent again (the device answers
   * an identical install as unchanged). Rows out of attempts fail instead.
   */
  async requeueStale(o: StaleOptions): Promise<TransientResult> {
    const candidates: Row[] = await this.ds.query(
      `SELECT p.id FROM pending_operations p
       WHERE p.state = 'sent' AND p.kind = ANY($1::text[])
         AND p.updated_at < now() - make_interval(secs => (CASE WHEN p.kind = 'install' THEN $3 ELSE $2 END)::float8 / 1000)
       LIMIT 20000`,
      [o.kinds, o.commandsOlderThanMs, o.installsOlderThanMs],
    );
    const out: TransientResult = { settled: 0, operations: [], retried: 0, exhausted: 0 };
    if (!candidates.length) return out;
    return this.ds.transaction(async (m) => {
      const ids = candidates.map((c) => c.id as string);
      await this.lockHostsOf(m, ids);
      const stale: Row[] = await m.query(
        `WITH stale AS (
           SELECT p.id, p.kind, p.attempts FROM pending_operations p
           WHERE p.id = ANY($1::uuid[]) AND p.state = 'sent'
             AND p.updated_at < now() - make_interval(secs => (CASE WHEN p.kind = 'install' THEN $3 ELSE $2 END)::float8 / 1000)
           FOR UPDATE SKIP LOCKED
         ),
         back AS (
           UPDATE pending_operations p SET state = 'pending', not_before = now(), updated_at = now(),
             last_error = coalesce(p.last_error, CASE WHEN p.kind = 'install' THEN 'not confirmed by a report in time; sending again'
                                                   ELSE 'no answer was recorded; sending again' END)
           FROM stale WHERE p.id = stale.id AND stale.attempts < $4
           RETURNING p.id
         )
         SELECT stale.id, stale.kind, stale.attempts, (back.id IS NOT NULL) AS retried FROM stale LEFT JOIN back USING (id)`,
        [ids, o.commandsOlderThanMs, o.installsOlderThanMs, o.maxAttempts],
      );
      const exhausted: Array<{ kind: string; refusal: Refusal }> = [];
      for (const r of stale) {
        if (r.retried) out.retried++;
        else exhausted.push({ kind: r.kind as string, refusal: { pendingId: r.id as string, reason: `no answer after ${r.attempts} attempts` } });
      }
      await this.failExhausted(m, exhausted, out);
      return out;
    });
  }

  /**
   * Revokes a report closed (the device listed the module as Revoked) but whose answer never
   * reached a dispatcher (lost, timed out): settled as succeeded by the sweep, so their
   * operations finish. Only rows untouched for `olderThanMs`, so the normal settle goes first.
   */
  async reportedRevokes(olderThanMs: number, limit = 10_000): Promise<string[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT id FROM pending_operations
       WHERE kind = 'revoke' AND state = 'done' AND NOT args ? 'answered' AND operation_id IS NOT NULL
         AND updated_at < now() - make_interval(secs => $1::float8 / 1000)
       LIMIT $2`,
      [olderThanMs, limit],
    );
    return rows.map((r) => r.id as string);
  }

  /**
   * The artifacts of claimed installs, in one query over built_modules and build_flavors. An
   * install whose deployment no longer awaits it (revoked, failed) has no payload.
   */
  async installPayloads(pendingIds: string[]): Promise<InstallPayload[]> {
    if (!pendingIds.length) return [];
    const rows: Row[] = await this.ds.query(
      `SELECT p.id AS pending_id, b.host_id, b.module_id, b.module_name, b.key_id, b.active_mode, b.priority, b.apply_now,
              b.params, b.artifact_ref, b.artifact_sha256, b.artifact_size, f.artifact_sha256 AS template_sha256
       FROM pending_operations p
       JOIN built_modules b ON b.host_id = p.host_id AND b.module_id = p.module_id
       JOIN deployments d ON d.host_id = b.host_id AND d.module_id = b.module_id AND d.state IN ('pending','delivered')
       LEFT JOIN build_flavors f ON f.flavor = b.flavor
       WHERE p.id = ANY($1::uuid[]) AND p.kind = 'install'`,
      [pendingIds],
    );
    return rows.map((r) => ({
      pendingId: r.pending_id as string,
      hostId: Number(r.host_id),
      moduleId: Number(r.module_id),
      moduleName: r.module_name as string,
      keyId: (r.key_id as string) ?? null,
      activeMode: Number(r.active_mode) === 0 ? 0 : 1,
      priority: Number(r.priority),
      applyNow: r.apply_now as boolean,
      params: (r.params as InstallPayload['params']) ?? {},
      artifactRef: (r.artifact_ref as string) ?? '',
      artifactSha256: (r.artifact_sha256 as string) ?? '',
      artifactSize: r.artifact_size === null ? 0 : Number(r.artifact_size),
      templateSha256: (r.template_sha256 as string) ?? null,
    }));
  }

  /**
   * The device loaded the module: deployment pending → delivered. The install row stays 'sent'
   * until a report confirms it (monitor-svc sets it done); its clock restarts now and its
   * failure count is cleared (only failed tries count towards MAX_ATTEMPTS).
   *
   * Hosts a report batch is reconciling right now (their rows locked) are skipped rather than
   * waited for: the device reports right after loading, so that report is most likely the one
   * confirming this very install; a skipped row keeps its claim time for the re-send timer.
   * Returns how many rows were settled.
   */
  async installsDelivered(pendingIds: string[]): Promise<number> {
    if (!pendingIds.length) return 0;
    const rows: Row[] = await this.ds.query(
      `WITH free AS (
         SELECT h.host_id FROM hosts h
         WHERE h.host_id IN (SELECT p.host_id FROM pending_operations p WHERE p.id = ANY($1::uuid[]))
         ORDER BY h.host_id FOR SHARE OF h SKIP LOCKED
       ),
       po AS (
         UPDATE pending_operations p SET updated_at = now(), attempts = 0, last_error = NULL
         WHERE p.id = ANY($1::uuid[]) AND p.state = 'sent' AND p.kind = 'install' AND p.host_id IN (SELECT host_id FROM free)
         RETURNING p.host_id, p.module_id
       ),
       dep AS (
         UPDATE deployments d SET state = 'delivered', updated_at = now()
         FROM po WHERE d.host_id = po.host_id AND d.module_id = po.module_id AND d.state = 'pending'
         RETURNING d.host_id
       )
       SELECT (SELECT count(*) FROM po)::int AS n`,
      [pendingIds],
    );
    return Number(rows[0].n);
  }

  /**
   * Installs that cannot succeed (the device refused, the artifact does not match its record,
   * the deployment is gone): deployment failed with the reason, pending failed, the built
   * module no longer awaits install, operations progressed (failed).
   */
  async installsRefused(refusals: Refusal[], tx?: EntityManager): Promise<SettleResult> {
    if (!refusals.length) return { settled: 0, operations: [] };
    if (!tx) return this.ds.transaction((m) => this.installsRefused(refusals, m));
    const m = tx;
    await this.lockHostsOf(m, refusals.map((r) => r.pendingId));
    const rows: Row[] = await m.query(
      `WITH s AS (SELECT * FROM unnest($1::uuid[], $2::text[]) AS s(id, reason)),
       po AS (
         UPDATE pending_operations p SET state = 'failed', last_error = left(s.reason, 2000), updated_at = now()
         FROM s WHERE p.id = s.id AND p.kind = 'install' AND p.state IN ('pending','sent')
         RETURNING p.id, p.host_id, p.module_id, p.kind, p.operation_id, s.reason
       ),
       dep AS (
         UPDATE deployments d SET state = 'failed', failure_reason = left(po.reason, 2000), updated_at = now()
         FROM po WHERE d.host_id = po.host_id AND d.module_id = po.module_id AND d.state IN ('pending','delivered')
       ),
       bm AS (
         UPDATE built_modules b SET req_install = false
         FROM po WHERE b.host_id = po.host_id AND b.module_id = po.module_id AND b.req_install
       ),
       moved AS (
         SELECT p.operation_id, 0 AS ok, 1 AS bad FROM po p JOIN operations o ON o.id = p.operation_id WHERE ${COUNTS}
       ),
       ${PROGRESS_SQL('moved')}
       SELECT c.moved_count, prog.* FROM (SELECT count(*)::int AS moved_count FROM po) c LEFT JOIN prog ON true`,
      [refusals.map((r) => r.pendingId), refusals.map((r) => r.reason)],
    );
    return this.settleResult(rows);
  }

  /**
   * Commands the device carried out, applied to the CIB per kind (one transaction for the batch):
   * toggle → active mode; priority → the deployment's and the built module's priority; deprecate
   * → deprecated (and when); revoke → the deployment row deleted, a revocation recorded (source
   * operator, or rotate for a rotation's revoke) and the built module no longer awaited. Pending
   * rows done; operations progressed (succeeded). A priority another module took meanwhile is not
   * written (the unique live priority per host holds); `skippedPriorities` counts those.
   */
  async commandsSucceeded(pendingIds: string[]): Promise<SettleResult & { skippedPriorities: number }> {
    if (!pendingIds.length) return { settled: 0, operations: [], skippedPriorities: 0 };
    return this.ds.transaction(async (m) => {
      await this.lockHostsOf(m, pendingIds);
      // A revoke may already be 'done': the device's change report (listing the module as Revoked)
      // can reach monitor-svc before its answer reaches us, and the report rule closes the row
      // without counting it. `args.answered` marks the rows settled here, so each counts once.
      const done: Row[] = await m.query(
        `WITH done AS (
           UPDATE pending_operations p SET state = 'done', last_error = NULL, updated_at = now(),
             args = p.args || '{"answered": true}'::jsonb
           WHERE p.id = ANY($1::uuid[]) AND p.kind IN ('toggle','priority','deprecate','revoke')
             AND (p.state = 'sent' OR (p.kind = 'revoke' AND p.state = 'done' AND NOT p.args ? 'answered'))
           RETURNING p.id, p.host_id, p.module_id, p.kind, p.args, p.operation_id, p.created_at
         )
         SELECT * FROM done`,
        [pendingIds],
      );
      const by = (kind: CommandKind) => done.filter((d) => d.kind === kind);
      const cols = (rows: Row[]) => [rows.map((r) => Number(r.host_id)), rows.map((r) => Number(r.module_id))];
      const toggles = by('toggle');
      if (toggles.length) {
        await m.query(
          `UPDATE deployments d SET active_mode = t.mode, updated_at = now()
           FROM unnest($1::int[], $2::int[], $3::smallint[]) AS t(host_id, module_id, mode)
           WHERE d.host_id = t.host_id AND d.module_id = t.module_id`,
          [...cols(toggles), toggles.map((t) => Number((t.args as Row).mode))],
        );
      }
      let skippedPriorities = 0;
      const priorities = by('priority');
      if (priorities.length) {
        const set: Row[] = await m.query(
          `WITH t AS (SELECT * FROM unnest($1::int[], $2::int[], $3::int[]) AS t(host_id, module_id, priority)),
           dep AS (
             UPDATE deployments d SET priority = t.priority, updated_at = now() FROM t
             WHERE d.host_id = t.host_id AND d.module_id = t.module_id AND d.state <> 'failed'
               AND NOT EXISTS (SELECT 1 FROM deployments x WHERE x.host_id = t.host_id AND x.priority = t.priority
                               AND x.module_id <> t.module_id AND x.state <> 'failed')
             RETURNING d.host_id, d.module_id, d.priority
           ),
           bm AS (
             UPDATE built_modules b SET priority = dep.priority FROM dep
             WHERE b.host_id = dep.host_id AND b.module_id = dep.module_id
           )
           SELECT count(*)::int AS n FROM dep`,
          [...cols(priorities), priorities.map((p) => Number((p.args as Row).priority))],
        );
        skippedPriorities = priorities.length - Number(set[0].n);
      }
      const deprecations = by('deprecate');
      if (deprecations.length) {
        await m.query(
          `UPDATE deployments d SET deprecated = true, deprecated_at = coalesce(d.deprecated_at, now()), updated_at = now()
           FROM unnest($1::int[], $2::int[]) AS t(host_id, module_id)
           WHERE d.host_id = t.host_id AND d.module_id = t.module_id`,
          cols(deprecations),
        );
      }
      const revokes = by('revoke');
      if (revokes.length) {
        // One revocation per revoke: the report's row (when the report came first) takes the
        // operator's source, reason and operation; otherwise a new row is written.
        await m.query(
          `WITH t AS (
             SELECT * FROM unnest($1::int[], $2::int[], $3::text[], $4::uuid[], $5::text[], $6::timestamptz[])
               AS t(host_id, module_id, reason, operation_id, module, asked_at)
           ),
           src AS (
             SELECT t.*, CASE WHEN o.kind = 'rotate' THEN 'rotate' WHEN o.params->>'source' = 'challenge' THEN 'challenge' ELSE 'operator' END AS source
             FROM t LEFT JOIN operations o ON o.id = t.operation_id
           ),
           del AS (
             DELETE FROM deployments d USING t WHERE d.host_id = t.host_id AND d.module_id = t.module_id
             RETURNING d.host_id, d.module_id, d.module_name
           ),
           bm AS (
             UPDATE built_modules b SET req_install = false FROM t
             WHERE b.host_id = t.host_id AND b.module_id = t.module_id AND b.req_install
           ),
           adopted AS (
             UPDATE revocations r SET source = src.source, reason = src.reason, operation_id = src.operation_id
             FROM src
             WHERE r.host_id = src.host_id AND r.module_id = src.module_id AND r.source = 'report'
               AND r.operation_id IS NULL AND r.revoked_at >= src.asked_at
             RETURNING r.host_id, r.module_id
           )
           INSERT INTO revocations (host_id, module_id, module_name, source, reason, operation_id)
           SELECT src.host_id, src.module_id, coalesce(del.module_name, src.module), src.source, src.reason, src.operation_id
           FROM src LEFT JOIN del USING (host_id, module_id)
           WHERE NOT EXISTS (SELECT 1 FROM adopted a WHERE a.host_id = src.host_id AND a.module_id = src.module_id)`,
          [
            ...cols(revokes),
            revokes.map((r) => ((r.args as Row).reason as string | undefined) ?? null),
            revokes.map((r) => (r.operation_id as string) ?? null),
            revokes.map((r) => ((r.args as Row).module as string | undefined) ?? null),
            revokes.map((r) => r.created_at as Date),
          ],
        );
      }
      const operations = await this.progressMoved(m, done.map((d) => d.id as string), 'ok');
      return { settled: done.length, operations, skippedPriorities };
    });
  }

  /** Commands the device refused (Result 0, or its error text): pending failed with the reason, operations progressed. */
  async commandsRefused(refusals: Refusal[], tx?: EntityManager): Promise<SettleResult> {
    if (!refusals.length) return { settled: 0, operations: [] };
    if (!tx) return this.ds.transaction((m) => this.commandsRefused(refusals, m));
    const m = tx;
    await this.lockHostsOf(m, refusals.map((r) => r.pendingId));
    const rows: Row[] = await m.query(
      `WITH s AS (SELECT * FROM unnest($1::uuid[], $2::text[]) AS s(id, reason)),
       po AS (
         UPDATE pending_operations p SET state = 'failed', last_error = left(s.reason, 2000), updated_at = now()
         FROM s WHERE p.id = s.id AND p.kind IN ('toggle','priority','deprecate','revoke') AND p.state IN ('pending','sent')
         RETURNING p.id, p.kind, p.operation_id
       ),
       moved AS (
         SELECT p.operation_id, 0 AS ok, 1 AS bad FROM po p JOIN operations o ON o.id = p.operation_id WHERE ${COUNTS}
       ),
       ${PROGRESS_SQL('moved')}
       SELECT c.moved_count, prog.* FROM (SELECT count(*)::int AS moved_count FROM po) c LEFT JOIN prog ON true`,
      [refusals.map((r) => r.pendingId), refusals.map((r) => r.reason)],
    );
    return this.settleResult(rows);
  }

  /**
   * No answer (timeout, no responder, a dependency down): back to pending with the caller's
   * backoff, or failed — with the last error — once `maxAttempts` tries were made (an install
   * then fails its deployment as a refusal does). One transaction.
   */
  async transientFailures(failures: TransientFailure[], maxAttempts: number): Promise<TransientResult> {
    if (!failures.length) return { settled: 0, operations: [], retried: 0, exhausted: 0 };
    return this.ds.transaction(async (m) => {
      await this.lockHostsOf(m, failures.map((f) => f.pendingId));
      const rows: Row[] = await m.query(
        `WITH s AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::float8[]) AS s(id, error, delay_ms)),
         cur AS (
           SELECT p.id, p.kind, p.attempts, s.error FROM pending_operations p JOIN s USING (id)
           WHERE p.state = 'sent' FOR UPDATE OF p
         ),
         back AS (
           UPDATE pending_operations p SET state = 'pending', last_error = left(s.error, 2000), updated_at = now(),
             not_before = now() + make_interval(secs => s.delay_ms / 1000)
           FROM s, cur WHERE p.id = s.id AND cur.id = s.id AND cur.attempts < $4
           RETURNING p.id
         )
         SELECT cur.id, cur.kind, cur.attempts, cur.error, (back.id IS NOT NULL) AS retried FROM cur LEFT JOIN back USING (id)`,
        [failures.map((f) => f.pendingId), failures.map((f) => f.error), failures.map((f) => Math.max(0, f.retryInMs)), maxAttempts],
      );
      const out: TransientResult = { settled: 0, operations: [], retried: 0, exhausted: 0 };
      const exhausted: Array<{ kind: string; refusal: Refusal }> = [];
      for (const r of rows) {
        if (r.retried) out.retried++;
        else exhausted.push({ kind: r.kind as string, refusal: { pendingId: r.id as string, reason: `gave up after ${r.attempts} attempts: ${r.error}` } });
      }
      await this.failExhausted(m, exhausted, out);
      out.settled += out.retried;
      return out;
    });
  }

  private async failExhausted(m: EntityManager, exhausted: Array<{ kind: string; refusal: Refusal }>, out: TransientResult): Promise<void> {
    const installs = exhausted.filter((e) => e.kind === 'install').map((e) => e.refusal);
    const commands = exhausted.filter((e) => e.kind !== 'install').map((e) => e.refusal);
    for (const r of [await this.installsRefused(installs, m), await this.commandsRefused(commands, m)]) {
      out.exhausted += r.settled;
      out.settled += r.settled;
      out.operations.push(...r.operations);
    }
  }

  /**
   * Locks the hosts of these pending rows, in host order, before any of their rows is touched:
   * the order monitor-svc's report batches and construct-svc's builds take, so a settle and a
   * report about the same host queue instead of deadlocking (the device reports right after it
   * loads a module, while its answer is being settled). Shared: settles do not exclude each other.
   */
  private async lockHostsOf(m: EntityManager, pendingIds: string[]): Promise<void> {
    await m.query(
      `SELECT h.host_id FROM hosts h
       WHERE h.host_id IN (SELECT p.host_id FROM pending_operations p WHERE p.id = ANY($1::uuid[]))
       ORDER BY h.host_id FOR SHARE OF h`,
      [pendingIds],
    );
  }

  /** Progress for rows just moved to done (`ok`) or failed (`bad`), grouped per operation. */
  private async progressMoved(m: EntityManager, pendingIds: string[], as: 'ok' | 'bad'): Promise<OperationEntity[]> {
    if (!pendingIds.length) return [];
    const rows: Row[] = await m.query(
      `WITH moved AS (
         SELECT p.operation_id, ${as === 'ok' ? '1' : '0'} AS ok, ${as === 'bad' ? '1' : '0'} AS bad
         FROM pending_operations p JOIN operations o ON o.id = p.operation_id
         WHERE p.id = ANY($1::uuid[]) AND ${COUNTS}
       ),
       ${PROGRESS_SQL('moved')}
       SELECT * FROM prog`,
      [pendingIds],
    );
    return rows.map(mapOperation);
  }

  /** Rows of `SELECT c.moved_count, prog.* FROM (count) c LEFT JOIN prog ON true`: at least one, ops where id is set. */
  private settleResult(rows: Row[]): SettleResult {
    return { settled: Number(rows[0]?.moved_count ?? 0), operations: rows.filter((r) => r.id != null).map(mapOperation) };
  }
}
