import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

/** Pending kinds that carry inverse modules to middleboxes (deploy-svc's inverse dispatcher). */
export const INVERSE_KINDS = ['inverse_install', 'inverse_remove'] as const;
export type InverseKind = (typeof INVERSE_KINDS)[number];

/** Deployment states that make a module "deployed" for its inverse modules: in flight or running. */
const DEPLOYED = `('pending','delivered','installed','verified')`;

export type InverseDeploymentState = 'required' | 'installed' | 'removing' | 'removed';

export interface ReconcileCounts {
  /** Catalog-declared inverse modules added, updated or unlinked. */
  synced: number;
  /** (middlebox, inverse) rows that became required (new, needed again, or content changed). */
  required: number;
  /** Rows that are not needed any more: their file is to be removed. */
  removing: number;
  /** Pending rows written (installs and removals). */
  queued: number;
  /** Open pending rows closed because the desired state moved on. */
  superseded: number;
}

/** A pending inverse row taken by one dispatcher (state 'sent', attempts counted). */
export interface ClaimedInverse {
  pendingId: string;
  hostId: number;
  kind: InverseKind;
  attempts: number;
  inverseId: string | null;
  module: string;
  file: string;
  /** Installs: the bytes to write and their sha256 (null when the inverse module is gone). */
  sha256: string | null;
  content: Buffer | null;
}

export interface InverseDone {
  pendingId: string;
  /** Installs: the sha256 of what was written. */
  sha256?: string;
}

export interface InverseFailure {
  pendingId: string;
  error: string;
  retryInMs: number;
}

export interface InverseSettleCounts {
  done: number;
  retried: number;
  gaveUp: number;
}

/** What a middlebox's report says it holds. `checkin`: the report right after a check-in. */
export interface HoldingsReport {
  hostId: number;
  issuedAt: Date;
  checkin: boolean;
  files: Array<{ file: string; sha256: string }>;
}

export interface InverseLinkInput {
  module: string;
  type: string;
  file: string;
  content: Buffer;
  sha256: string;
}

export type LinkResult =
  | { ok: true; created: boolean; changed: boolean }
  | { ok: false; code: 'not_found' | 'conflict'; message: string };

export interface MiddleboxRow {
  hostId: number;
  mac: string;
  type: string;
  online: boolean;
  lastSeenAt: Date | null;
  inverse: Array<{
    module: string;
    file: string;
    sha256: string;
    state: InverseDeploymentState;
    requiredAt: Date | null;
    installedAt: Date | null;
    removedAt: Date | null;
    lastError: string | null;
  }>;
}

export interface InverseModuleRow {
  module: string;
  type: string;
  file: string;
  sha256: string;
  size: number;
  source: 'catalog' | 'operator';
  required: boolean;
  updatedAt: Date;
}

type Row = Record<string, unknown>;

/**
 * Every change of inverse state (reconcile, settle, report holdings, link, unlink) runs under one
 * transaction-scoped advisory lock: they touch overlapping rows in different orders, middleboxes
 * are few, and serialising them is cheaper than the deadlocks it rules out.
 */
const lockInverse = (m: EntityManager) => m.query(`SELECT pg_advisory_xact_lock(hashtext('nco.inverse'))`);
const date = (v: unknown): Date | null => (v == null ? null : new Date(v as string));

/**
 * Middleboxes and their inverse modules, set-based. The desired state is computed from the CIB
 * in SQL (never one round trip per middlebox): for each middlebox type, the inverse modules of
 * the modules deployed on any host. `inverse_deployments` records per (middlebox, inverse) what
 * is wanted and what is held (required → installed, removing → removed, with timestamps);
 * `pending_operations` rows of the inverse kinds carry the work, with the same claim, backoff
 * and stale-requeue rules as every other device work. `updated_at` of an inverse_deployments row
 * is when its state last changed: a middlebox report issued before that says nothing about it.
 */
@Injectable()
export class MiddleboxRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Brings inverse_deployments and the pending rows in line with the deployments, in one
   * transaction (under the inverse advisory lock): catalog declarations synced, rows
   * required / removing, obsolete open rows closed, missing ones queued.
   */
  async reconcile(): Promise<ReconcileCounts> {
    return this.ds.transaction(async (m) => {
      await lockInverse(m);
      const synced = await this.syncCatalog(m);
      const [moved] = await m.query(
        `WITH need AS (
           SELECT mb.host_id, im.id AS inverse_id
           FROM inverse_modules im JOIN middleboxes mb ON mb.type = im.middlebox_type
           WHERE im.unlinked_at IS NULL
             AND EXISTS (SELECT 1 FROM deployments d WHERE d.module_name = im.module_name AND d.state IN ${DEPLOYED})
         ),
         wanted AS (
           INSERT INTO inverse_deployments AS d (middlebox_host_id, inverse_module_id, state, required_at, updated_at)
           SELECT host_id, inverse_id, 'required', now(), now() FROM need
           ON CONFLICT (middlebox_host_id, inverse_module_id) DO UPDATE
             SET state = 'required', required_at = now(), last_error = NULL, gave_up_at = NULL, updated_at = now()
             WHERE d.state IN ('removing','removed')
           RETURNING 1
         ),
         changed AS (
           UPDATE inverse_deployments d SET state = 'required', required_at = now(), last_error = NULL, gave_up_at = NULL, updated_at = now()
           FROM inverse_modules im
           WHERE im.id = d.inverse_module_id AND d.state = 'installed' AND d.installed_sha256 IS DISTINCT FROM im.sha256
             AND EXISTS (SELECT 1 FROM need WHERE need.host_id = d.middlebox_host_id AND need.inverse_id = d.inverse_module_id)
           RETURNING 1
         ),
         unwanted AS (
           UPDATE inverse_deployments d SET state = 'removing', last_error = NULL, gave_up_at = NULL, updated_at = now()
           WHERE d.state IN ('required','installed')
             AND NOT EXISTS (SELECT 1 FROM need WHERE need.host_id = d.middlebox_host_id AND need.inverse_id = d.inverse_module_id)
           RETURNING 1
         )
         SELECT (SELECT count(*) FROM wanted)::int + (SELECT count(*) FROM changed)::int AS required,
                (SELECT count(*) FROM unwanted)::int AS removing`,
      );
      // Open rows asking for what is no longer wanted (an install of a now unwanted file, a
      // removal of a file wanted again) are closed; rows in flight settle first.
      const [superseded] = await m.query(
        `WITH s AS (
           UPDATE pending_operations p SET state = 'done', last_error = 'superseded: the desired state changed', updated_at = now()
           WHERE p.kind IN ('inverse_install','inverse_remove') AND p.state = 'pending'
             AND NOT EXISTS (
               SELECT 1 FROM inverse_deployments d
               WHERE d.middlebox_host_id = p.host_id AND d.inverse_module_id::text = p.args->>'inverseId'
                 AND d.state = CASE p.kind WHEN 'inverse_install' THEN 'required' ELSE 'removing' END)
           RETURNING 1
         )
         SELECT count(*)::int AS n FROM s`,
      );
      const [queued] = await m.query(
        `WITH q AS (
           INSERT INTO pending_operations (host_id, kind, args)
           SELECT d.middlebox_host_id,
                  CASE d.state WHEN 'required' THEN 'inverse_install' ELSE 'inverse_remove' END,
                  jsonb_build_object('module', im.module_name, 'type', im.middlebox_type, 'file', im.file_name, 'inverseId', im.id)
           FROM inverse_deployments d JOIN inverse_modules im ON im.id = d.inverse_module_id
           WHERE d.state IN ('required','removing') AND d.gave_up_at IS NULL
             AND NOT EXISTS (
               SELECT 1 FROM pending_operations p
               WHERE p.host_id = d.middlebox_host_id AND p.kind IN ('inverse_install','inverse_remove')
                 AND p.state IN ('pending','sent') AND p.args->>'module' = im.module_name)
           ON CONFLICT DO NOTHING
           RETURNING 1
         )
         SELECT count(*)::int AS n FROM q`,
      );
      return { synced, required: Number(moved.required), removing: Number(moved.removing), queued: Number(queued.n), superseded: Number(superseded.n) };
    });
  }

  /**
   * Catalog metadata (`inverse: {type: path}`) → inverse_modules rows of source 'catalog'. An
   * operator's link or unlink wins over the catalog; a catalog row whose declaration is gone is
   * unlinked. Only modules whose catalog source changed are read (their files are large).
   */
  private async syncCatalog(m: EntityManager): Promise<number> {
    const [added] = await m.query(
      `WITH cat AS (
         SELECT c.name, kv.key AS type, regexp_replace(kv.value, '^.*/', '') AS file, c.source_sha256, c.files->>kv.value AS b64
         FROM catalog_modules c CROSS JOIN LATERAL jsonb_each_text(c.metadata->'inverse') kv
         WHERE NOT EXISTS (
           SELECT 1 FROM inverse_modules i WHERE i.module_name = c.name AND i.middlebox_type = kv.key
             AND (i.source = 'operator' OR i.unlinked_at IS NOT NULL OR i.catalog_sha256 = c.source_sha256))
       ),
       valid AS (
         SELECT cat.*, decode(cat.b64, 'base64') AS content FROM cat
         WHERE cat.b64 IS NOT NULL AND cat.file ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'
           -- one live file name per type; a renamed file waits until no middlebox holds the old one
           AND NOT EXISTS (SELECT 1 FROM inverse_modules o WHERE o.middlebox_type = cat.type AND o.file_name = cat.file
                             AND o.module_name <> cat.name AND o.unlinked_at IS NULL)
           AND NOT EXISTS (SELECT 1 FROM inverse_modules o JOIN inverse_deployments d ON d.inverse_module_id = o.id
                           WHERE o.module_name = cat.name AND o.middlebox_type = cat.type AND o.file_name <> cat.file
                             AND d.state IN ('installed','removing'))
       ),
       up AS (
         INSERT INTO inverse_modules AS i (module_name, middlebox_type, file_name, content, sha256, size, source, catalog_sha256, updated_at)
         SELECT name, type, file, content, encode(sha256(content), 'hex'), octet_length(content), 'catalog', source_sha256, now() FROM valid
         ON CONFLICT (module_name, middlebox_type) DO UPDATE
           SET file_name = EXCLUDED.file_name, content = EXCLUDED.content, sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
               catalog_sha256 = EXCLUDED.catalog_sha256,
               updated_at = CASE WHEN i.sha256 = EXCLUDED.sha256 AND i.file_name = EXCLUDED.file_name THEN i.updated_at ELSE now() END
           WHERE i.source = 'catalog' AND i.unlinked_at IS NULL
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM up`,
    );
    const [dropped] = await m.query(
      `WITH gone AS (
         UPDATE inverse_modules i SET unlinked_at = now(), updated_at = now()
         WHERE i.source = 'catalog' AND i.unlinked_at IS NULL
           AND NOT EXISTS (SELECT 1 FROM catalog_modules c WHERE c.name = i.module_name AND c.metadata->'inverse' ? i.middlebox_type)
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
    );
    return Number(added.n) + Number(dropped.n);
  }

  /** Claims due inverse rows of online middleboxes (SKIP LOCKED), with the bytes to write. */
  async claimDue(limit: number): Promise<ClaimedInverse[]> {
    const rows: Row[] = await this.ds.query(
      `WITH due AS (
         SELECT p.id FROM pending_operations p JOIN hosts h ON h.host_id = p.host_id
         WHERE p.state = 'pending' AND p.kind IN ('inverse_install','inverse_remove') AND p.not_before <= now() AND h.online
         ORDER BY p.not_before, p.created_at
         LIMIT $1
         FOR UPDATE OF p SKIP LOCKED
       ),
       claimed AS (
         UPDATE pending_operations p SET state = 'sent', attempts = p.attempts + 1, updated_at = now()
         FROM due WHERE p.id = due.id
         RETURNING p.id, p.host_id, p.kind, p.args, p.attempts
       )
       SELECT c.id, c.host_id, c.kind, c.args, c.attempts, im.id AS inverse_id, im.file_name, im.sha256,
              CASE WHEN c.kind = 'inverse_install' THEN im.content END AS content
       FROM claimed c LEFT JOIN inverse_modules im ON im.id::text = c.args->>'inverseId'`,
      [limit],
    );
    return rows.map((r) => {
      const args = (r.args ?? {}) as Record<string, string>;
      const install = r.kind === 'inverse_install';
      return {
        pendingId: r.id as string,
        hostId: Number(r.host_id),
        kind: r.kind as InverseKind,
        attempts: Number(r.attempts),
        inverseId: (r.inverse_id as string) ?? null,
        module: args.module,
        // A removal deletes the file that was queued; an install writes the inverse as it is now.
        file: install ? ((r.file_name as string) ?? args.file) : args.file,
        sha256: install ? ((r.sha256 as string) ?? null) : null,
        content: install ? ((r.content as Buffer) ?? null) : null,
      };
    });
  }

  /**
   * Settles a batch: done rows move their (middlebox, inverse) to installed / removed with the
   * time (and what was written); failures go back to pending after `retryInMs`, or — out of
   * attempts — fail and mark the row given up until the middlebox next checks in. One transaction.
   */
  async settle(done: InverseDone[], failures: InverseFailure[], maxAttempts: number): Promise<InverseSettleCounts> {
    if (!done.length && !failures.length) return { done: 0, retried: 0, gaveUp: 0 };
    return this.ds.transaction(async (m) => {
      await lockInverse(m);
      let settled = 0;
      if (done.length) {
        const [r] = await m.query(
          `WITH s AS (SELECT * FROM unnest($1::uuid[], $2::text[]) AS s(id, sha256)),
           po AS (
             UPDATE pending_operations p SET state = 'done', last_error = NULL, updated_at = now()
             FROM s WHERE p.id = s.id AND p.state = 'sent' AND p.kind IN ('inverse_install','inverse_remove')
             RETURNING p.host_id, p.kind, p.args->>'inverseId' AS inverse_id, s.sha256
           ),
           upd AS (
             UPDATE inverse_deployments d SET
               state = CASE po.kind WHEN 'inverse_install' THEN 'installed' ELSE 'removed' END,
               installed_at = CASE po.kind WHEN 'inverse_install' THEN now() ELSE d.installed_at END,
               installed_sha256 = CASE po.kind WHEN 'inverse_install' THEN po.sha256 END,
               removed_at = CASE po.kind WHEN 'inverse_remove' THEN now() ELSE d.removed_at END,
               last_error = NULL, gave_up_at = NULL, updated_at = now()
             FROM po
             WHERE d.middlebox_host_id = po.host_id AND d.inverse_module_id::text = po.inverse_id
               AND d.state = CASE po.kind WHEN 'inverse_install' THEN 'required' ELSE 'removing' END
             RETURNING 1
           )
           SELECT (SELECT count(*) FROM po)::int AS n, (SELECT count(*) FROM upd)::int AS applied`,
          [done.map((d) => d.pendingId), done.map((d) => d.sha256 ?? null)],
        );
        settled = Number(r.n);
      }
      let retried = 0;
      let gaveUp = 0;
      if (failures.length) {
        const rows: Row[] = await m.query(
          `WITH s AS (SELECT * FROM unnest($1::uuid[], $2::text[], $3::float8[]) AS s(id, error, delay_ms)),
           po AS (
             UPDATE pending_operations p SET
               state = CASE WHEN p.attempts < $4 THEN 'pending' ELSE 'failed' END,
               last_error = left(s.error, 2000), updated_at = now(),
               not_before = now() + make_interval(secs => s.delay_ms / 1000)
             FROM s WHERE p.id = s.id AND p.state = 'sent' AND p.kind IN ('inverse_install','inverse_remove')
             RETURNING p.host_id, p.state, p.attempts, p.args->>'inverseId' AS inverse_id, p.last_error
           ),
           rec AS (
             UPDATE inverse_deployments d SET
               last_error = CASE WHEN po.state = 'failed' THEN 'gave up after ' || po.attempts || ' attempts (the next check-in tries again): ' ELSE '' END || po.last_error,
               gave_up_at = CASE WHEN po.state = 'failed' THEN now() ELSE d.gave_up_at END
             FROM po WHERE d.middlebox_host_id = po.host_id AND d.inverse_module_id::text = po.inverse_id
           )
           SELECT state FROM po`,
          [failures.map((f) => f.pendingId), failures.map((f) => f.error), failures.map((f) => Math.max(0, f.retryInMs)), maxAttempts],
        );
        for (const r of rows) r.state === 'failed' ? gaveUp++ : retried++;
      }
      return { done: settled, retried, gaveUp };
    });
  }

  /** 'sent' rows whose sender vanished (no settle in `olderThanMs`) are due again. */
  async requeueStale(olderThanMs: number): Promise<number> {
    const [r] = await this.ds.query(
      `WITH back AS (
         UPDATE pending_operations SET state = 'pending', not_before = now(), updated_at = now(),
           last_error = coalesce(last_error, 'no answer was recorded; sending again')
         WHERE kind IN ('inverse_install','inverse_remove') AND state = 'sent'
           AND updated_at < now() - make_interval(secs => $1::float8 / 1000)
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM back`,
      [olderThanMs],
    );
    return Number(r.n);
  }

  /** Middleboxes back online: their waiting rows are due now instead of after their backoff. */
  async wakeHosts(hostIds: number[]): Promise<number> {
    if (!hostIds.length) return 0;
    const [r] = await this.ds.query(
      `WITH woke AS (
         UPDATE pending_operations SET not_before = now(), updated_at = now()
         WHERE host_id = ANY($1::int[]) AND kind IN ('inverse_install','inverse_remove') AND state = 'pending' AND not_before > now()
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM woke`,
      [hostIds],
    );
    return Number(r.n);
  }

  /**
   * Reconciles what middleboxes report holding against the CIB, for a batch of reports in one
   * transaction: required + held with the right sha256 → installed (its answer was lost);
   * installed but missing or different → required again; removing + absent → removed; removed
   * but present → removing. A report issued before a row's last change is ignored for that row.
   * A check-in report lifts "given up" (the next reconcile queues the work) and makes waiting
   * rows due now. Returns how many rows now need work (the caller triggers the dispatcher).
   */
  async applyHoldings(reports: HoldingsReport[]): Promise<{ needWork: number; confirmed: number; woke: number }> {
    if (!reports.length) return { needWork: 0, confirmed: 0, woke: 0 };
    const files = reports.flatMap((r) => r.files.map((f) => ({ hostId: r.hostId, ...f })));
    const checkins = reports.filter((r) => r.checkin).map((r) => r.hostId);
    return this.ds.transaction(async (m) => {
      await lockInverse(m);
      const rows: Row[] = await m.query(
        `WITH r AS (SELECT * FROM unnest($1::int[], $2::timestamptz[]) AS r(host_id, issued_at)),
         f AS (SELECT * FROM unnest($3::int[], $4::text[], $5::text[]) AS f(host_id, file, sha256)),
         cur AS (
           SELECT d.middlebox_host_id, d.inverse_module_id, d.state, im.sha256 AS want, f.sha256 AS held
           FROM inverse_deployments d
           JOIN r ON r.host_id = d.middlebox_host_id AND r.issued_at >= d.updated_at
           JOIN inverse_modules im ON im.id = d.inverse_module_id
           LEFT JOIN f ON f.host_id = d.middlebox_host_id AND f.file = im.file_name
           ORDER BY d.middlebox_host_id
           FOR UPDATE OF d
         ),
         nxt AS (
           SELECT cur.*, CASE
             WHEN cur.state = 'required' AND cur.held = cur.want THEN 'installed'
             WHEN cur.state = 'installed' AND cur.held IS DISTINCT FROM cur.want THEN 'required'
             WHEN cur.state = 'removing' AND cur.held IS NULL THEN 'removed'
             WHEN cur.state = 'removed' AND cur.held IS NOT NULL THEN 'removing'
           END AS state_to
           FROM cur
         ),
         upd AS (
           UPDATE inverse_deployments d SET
             state = nxt.state_to,
             installed_at = CASE WHEN nxt.state_to = 'installed' THEN now() ELSE d.installed_at END,
             installed_sha256 = CASE WHEN nxt.state_to = 'installed' THEN nxt.held WHEN nxt.state_to = 'required' THEN NULL ELSE d.installed_sha256 END,
             removed_at = CASE WHEN nxt.state_to = 'removed' THEN now() ELSE d.removed_at END,
             last_error = CASE WHEN nxt.state_to = 'required' THEN 'the middlebox reported it missing or changed'
                               WHEN nxt.state_to = 'removing' THEN 'the middlebox still holds it' ELSE NULL END,
             gave_up_at = NULL, updated_at = now()
           FROM nxt
           WHERE d.middlebox_host_id = nxt.middlebox_host_id AND d.inverse_module_id = nxt.inverse_module_id AND nxt.state_to IS NOT NULL
           RETURNING d.middlebox_host_id, d.inverse_module_id, d.state
         ),
         closed AS (
           UPDATE pending_operations p SET state = 'done', updated_at = now(), last_error = 'confirmed by a report'
           FROM upd
           WHERE upd.state IN ('installed','removed') AND p.host_id = upd.middlebox_host_id
             AND p.args->>'inverseId' = upd.inverse_module_id::text AND p.state = 'pending'
             AND p.kind = CASE upd.state WHEN 'installed' THEN 'inverse_install' ELSE 'inverse_remove' END
         )
         SELECT state, count(*)::int AS n FROM upd GROUP BY state`,
        [
          reports.map((r) => r.hostId),
          reports.map((r) => r.issuedAt),
          files.map((f) => f.hostId),
          files.map((f) => f.file),
          files.map((f) => f.sha256),
        ],
      );
      let woke = 0;
      if (checkins.length) {
        const [w] = await m.query(
          `WITH lifted AS (
             UPDATE inverse_deployments SET gave_up_at = NULL
             WHERE middlebox_host_id = ANY($1::int[]) AND gave_up_at IS NOT NULL
             RETURNING 1
           ),
           due AS (
             UPDATE pending_operations SET not_before = now(), updated_at = now()
             WHERE host_id = ANY($1::int[]) AND kind IN ('inverse_install','inverse_remove') AND state = 'pending' AND not_before > now()
             RETURNING 1
           )
           SELECT (SELECT count(*) FROM lifted)::int + (SELECT count(*) FROM due)::int AS n`,
          [checkins],
        );
        woke = Number(w.n);
      }
      const count = (s: string) => Number(rows.find((r) => r.state === s)?.n ?? 0);
      return { needWork: count('required') + count('removing'), confirmed: count('installed') + count('removed'), woke };
    });
  }

  /**
   * Links (or replaces) an operator's inverse module for a module and middlebox type. Nothing is
   * written when the module is not in the catalog, the file name is taken by another module's
   * inverse for that type, or a rename would strand the old file on middleboxes that hold it.
   */
  async link(input: InverseLinkInput): Promise<LinkResult> {
    return this.ds.transaction(async (m) => {
      await lockInverse(m);
      const [cat] = await m.query(`SELECT count(*)::int AS n FROM catalog_modules WHERE name = $1`, [input.module]);
      if (!Number(cat.n)) return { ok: false, code: 'not_found', message: `module ${input.module} is not in the catalog (see nco catalog)` };
      const taken: Row[] = await m.query(
        `SELECT module_name FROM inverse_modules WHERE middlebox_type = $1 AND file_name = $2 AND module_name <> $3 AND unlinked_at IS NULL`,
        [input.type, input.file, input.module],
      );
      if (taken.length) {
        return { ok: false, code: 'conflict', message: `${input.file} is already the ${input.type} inverse module of ${taken[0].module_name as string}; choose another file name` };
      }
      const held: Row[] = await m.query(
        `SELECT im.file_name, count(*)::int AS n FROM inverse_modules im JOIN inverse_deployments d ON d.inverse_module_id = im.id
         WHERE im.module_name = $1 AND im.middlebox_type = $2 AND im.file_name <> $3 AND d.state IN ('installed','removing')
         GROUP BY im.file_name`,
        [input.module, input.type, input.file],
      );
      if (held.length) {
        return {
          ok: false,
          code: 'conflict',
          message: `${held[0].n as number} middlebox(es) hold this inverse module as ${held[0].file_name as string}: unlink it, wait until they removed it (nco middleboxes), then link ${input.file}`,
        };
      }
      const [r] = await m.query(
        `WITH prev AS (SELECT sha256, file_name, unlinked_at FROM inverse_modules WHERE module_name = $1 AND middlebox_type = $2)
         INSERT INTO inverse_modules AS i (module_name, middlebox_type, file_name, content, sha256, size, source, catalog_sha256, unlinked_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'operator', NULL, NULL, now())
         ON CONFLICT (module_name, middlebox_type) DO UPDATE
           SET file_name = EXCLUDED.file_name, content = EXCLUDED.content, sha256 = EXCLUDED.sha256, size = EXCLUDED.size,
               source = 'operator', catalog_sha256 = NULL, unlinked_at = NULL, updated_at = now()
         RETURNING (xmax = 0) AS created,
           NOT EXISTS (SELECT 1 FROM prev WHERE prev.sha256 = $5 AND prev.file_name = $3 AND prev.unlinked_at IS NULL) AS changed`,
        [input.module, input.type, input.file, input.content, input.sha256, input.content.length],
      );
      return { ok: true, created: r.created as boolean, changed: r.changed as boolean };
    });
  }

  /** Unlinks: the inverse stays known (so middleboxes holding it get it removed) but is never required. */
  async unlink(module: string, type: string): Promise<{ found: boolean; removing: number }> {
    return this.ds.transaction(async (m) => {
      await lockInverse(m);
      const rows: Row[] = await m.query(
        `WITH u AS (
           UPDATE inverse_modules SET unlinked_at = now(), updated_at = now()
           WHERE module_name = $1 AND middlebox_type = $2 AND unlinked_at IS NULL
           RETURNING id
         )
         SELECT u.id, (SELECT count(*) FROM inverse_deployments d WHERE d.inverse_module_id = u.id AND d.state IN ('required','installed'))::int AS held
         FROM u`,
        [module, type],
      );
      return rows.length ? { found: true, removing: Number(rows[0].held) } : { found: false, removing: 0 };
    });
  }

  /** Middleboxes (of one type, or all) with every inverse module record, in one query. */
  async listMiddleboxes(type?: string, limit = 1000): Promise<MiddleboxRow[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT mb.host_id, h.mac, mb.type, h.online, h.last_seen_at,
              coalesce(jsonb_agg(jsonb_build_object(
                'module', im.module_name, 'file', im.file_name, 'sha256', coalesce(d.installed_sha256, im.sha256), 'state', d.state,
                'requiredAt', d.required_at, 'installedAt', d.installed_at, 'removedAt', d.removed_at, 'lastError', d.last_error)
                ORDER BY im.module_name) FILTER (WHERE d.inverse_module_id IS NOT NULL), '[]') AS inverse
       FROM middleboxes mb JOIN hosts h ON h.host_id = mb.host_id
       LEFT JOIN inverse_deployments d ON d.middlebox_host_id = mb.host_id
       LEFT JOIN inverse_modules im ON im.id = d.inverse_module_id
       WHERE ($1::text IS NULL OR mb.type = $1)
       GROUP BY mb.host_id, h.mac, mb.type, h.online, h.last_seen_at
       ORDER BY mb.host_id
       LIMIT $2`,
      [type ?? null, limit],
    );
    return rows.map((r) => ({
      hostId: Number(r.host_id),
      mac: r.mac as string,
      type: r.type as string,
      online: r.online as boolean,
      lastSeenAt: date(r.last_seen_at),
      inverse: (r.inverse as Row[]).map((i) => ({
        module: i.module as string,
        file: i.file as string,
        sha256: i.sha256 as string,
        state: i.state as InverseDeploymentState,
        requiredAt: date(i.requiredAt),
        installedAt: date(i.installedAt),
        removedAt: date(i.removedAt),
        lastError: (i.lastError as string) ?? null,
      })),
    }));
  }

  /** The linked inverse modules, and whether a deployment needs each now. */
  async listInverseModules(type?: string): Promise<InverseModuleRow[]> {
    const rows: Row[] = await this.ds.query(
      `SELECT im.module_name, im.middlebox_type, im.file_name, im.sha256, im.size, im.source, im.updated_at,
              EXISTS (SELECT 1 FROM deployments d WHERE d.module_name = im.module_name AND d.state IN ${DEPLOYED}) AS required
       FROM inverse_modules im
       WHERE im.unlinked_at IS NULL AND ($1::text IS NULL OR im.middlebox_type = $1)
       ORDER BY im.module_name, im.middlebox_type`,
      [type ?? null],
    );
    return rows.map((r) => ({
      module: r.module_name as string,
      type: r.middlebox_type as string,
      file: r.file_name as string,
      sha256: r.sha256 as string,
      size: Number(r.size),
      source: r.source as 'catalog' | 'operator',
      required: r.required as boolean,
      updatedAt: new Date(r.updated_at as string),
    }));
  }
}
