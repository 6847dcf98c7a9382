import { Injectable } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { BuildFlavorEntity, OperationEntity } from '../entities';
import { OperationRepository } from './operation.repository';

/** What an operator asked to build on one host (pending_operations.args of a `build`). */
export interface BuildArgs {
  module: string;
  activeMode: 0 | 1;
  priority: number | null;
  applyNow: boolean;
  params: Record<string, string | number | boolean>;
  toolchain: 'stamp' | 'kbuild';
  install: boolean;
  /** deployments.security_window_s of the new deployments; absent: security-svc's default. */
  securityWindowS?: number;
}

export interface BuildClaim {
  pendingId: string;
  hostId: number;
  args: BuildArgs;
}

export interface HostBuild {
  pendingId: string;
  hostId: number;
  keyId: string;
}

export interface Allocated {
  hostId: number;
  moduleId: number;
  priority: number;
  keyId: string;
}

export interface Artifact {
  sha256: string;
  size: number;
  ref: string;
}

export interface BuiltBatch {
  operationId: string;
  moduleName: string;
  sourceSha256: string;
  flavor: string;
  args: BuildArgs;
  hosts: HostBuild[];
  /** Makes each host's artifact once its module id and priority are allocated (stamp or compile). */
  produce(allocated: Allocated[]): Promise<Artifact[]>;
}

const MAX_PRIORITY = 65534;

export interface BuildFilter {
  hostId?: number;
  module?: string;
  operationId?: string;
  limit?: number;
}

/** Builds: claiming pending build requests, compiled flavors, and recording results set-based. */
@Injectable()
export class BuildRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly operations: OperationRepository,
  ) {}

  /** Takes the due pending builds of an operation (each row goes to exactly one worker). */
  async claim(operationId: string): Promise<BuildClaim[]> {
    const rows: Array<{ id: string; host_id: number; args: BuildArgs }> = await this.ds.query(
      `WITH claimed AS (
         UPDATE pending_operations SET state = 'sent', attempts = attempts + 1, updated_at = now()
         WHERE operation_id = $1 AND kind = 'build' AND state = 'pending' AND not_before <= now()
         RETURNING id, host_id, args
       )
       SELECT * FROM claimed`,
      [operationId],
    );
    return rows.map((r) => ({ pendingId: r.id, hostId: Number(r.host_id), args: r.args }));
  }

  /** Operations that still have build requests waiting, optionally only for some hosts. */
  async operationsWithPendingBuilds(hostIds?: number[]): Promise<string[]> {
    const rows: Array<{ operation_id: string }> = await this.ds.query(
      `SELECT DISTINCT operation_id FROM pending_operations
       WHERE kind = 'build' AND state = 'pending' AND operation_id IS NOT NULL
         AND ($1::int[] IS NULL OR host_id = ANY($1::int[]))`,
      [hostIds ?? null],
    );
    return rows.map((r) => r.operation_id);
  }

  /** Puts claimed builds back to wait (e.g. their device is offline and its symvers unknown). */
  async defer(pendingIds: string[], delayMs: number, reason: string): Promise<void> {
    if (!pendingIds.length) return;
    await this.ds.query(
      `UPDATE pending_operations SET state = 'pending', last_error = $3, updated_at = now(),
         not_before = now() + make_interval(secs => $2::float8 / 1000)
       WHERE id = ANY($1::uuid[]) AND state = 'sent'`,
      [pendingIds, delayMs, reason],
    );
  }

  /**
   * A build that cannot succeed: one build-error row per host, requests failed, operation
   * progressed. Returns the operation when this settled it (else null).
   */
  async fail(operationId: string, claims: Array<{ pendingId: string; hostId: number }>, moduleName: string, release: string | null, error: string): Promise<OperationEntity | null> {
    if (!claims.length) return null;
    return this.ds.transaction(async (m) => {
      const failed: unknown[] = await m.query(
        `WITH failed AS (
           UPDATE pending_operations SET state = 'failed', last_error = left($2, 2000), updated_at = now()
           WHERE id = ANY($1::uuid[]) AND state IN ('pending','sent') RETURNING id
         )
         SELECT id FROM failed`,
        [claims.map((c) => c.pendingId), error],
      );
      await m.query(
        `INSERT INTO build_errors (host_id, module_name, release, error, operation_id)
         SELECT h, $2, $3, $4, $5 FROM unnest($1::int[]) AS h`,
        [claims.map((c) => c.hostId), moduleName, release, error, operationId],
      );
      return this.operations.progress(operationId, 0, failed.length, m);
    });
  }

  async flavor(flavor: string): Promise<BuildFlavorEntity | null> {
    return this.ds.getRepository(BuildFlavorEntity).findOneBy({ flavor });
  }

  async saveFlavor(f: Omit<BuildFlavorEntity, 'compiledAt'>): Promise<void> {
    await this.ds.getRepository(BuildFlavorEntity).createQueryBuilder().insert().values(f).orIgnore().execute();
  }

  /** Runs `fn` while holding a database-wide lock on `key` (one compile per flavor across replicas). */
  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const runner = this.ds.createQueryRunner();
    await runner.connect();
    try {
      await runner.query(`SELECT pg_advisory_lock(hashtextextended($1, 45))`, [key]);
      return await fn();
    } finally {
      await runner.query(`SELECT pg_advisory_unlock(hashtextextended($1, 45))`, [key]).catch(() => undefined);
      await runner.release();
    }
  }

  /**
   * Records a batch of host-unique modules in one transaction: locks the hosts, allocates each a
   * module id unique on that host (never reusing one the host has seen) and a free priority,
   * produces the artifacts, inserts the built-module rows (and, when installing, the pending
   * deployments and install requests), closes the build requests and progresses the operation.
   */
  async record(batch: BuiltBatch): Promise<Allocated[]> {
    return this.ds.transaction(async (m) => {
      const hostIds = batch.hosts.map((h) => h.hostId);
      await m.query(`SELECT host_id FROM hosts WHERE host_id = ANY($1::int[]) ORDER BY host_id FOR UPDATE`, [hostIds]);
      const nextIds = await this.nextModuleIds(m, hostIds);
      const used = await this.usedPriorities(m, hostIds);
      const allocated: Allocated[] = batch.hosts.map((h) => {
        const moduleId = nextIds.get(h.hostId)!;
        if (moduleId > 65535) throw new Error(`host ${h.hostId} has used every module id (1-65535)`);
        return { hostId: h.hostId, moduleId, keyId: h.keyId, priority: batch.args.priority ?? freePriority(used.get(h.hostId)) };
      });
      const artifacts = await batch.produce(allocated);
      const a = batch.args;
      await m.query(
        `INSERT INTO built_modules (host_id, module_id, module_name, source_sha256, key_id, active_mode, priority, apply_now,
                                    params, artifact_sha256, artifact_size, artifact_ref, req_install, operation_id, flavor, toolchain)
         SELECT h, mid, $3, $4, k, $5, p, $6, $7, s, sz, ref, $8, $9, $10, $11
         FROM unnest($1::int[], $2::int[], $12::uuid[], $13::int[], $14::text[], $15::int[], $16::text[]) AS t(h, mid, k, p, s, sz, ref)`,
        [
          hostIds, allocated.map((x) => x.moduleId), batch.moduleName, batch.sourceSha256, a.activeMode, a.applyNow,
          JSON.stringify(a.params), a.install, batch.operationId, batch.flavor, a.toolchain,
          allocated.map((x) => x.keyId), allocated.map((x) => x.priority), artifacts.map((x) => x.sha256),
          artifacts.map((x) => x.size), artifacts.map((x) => x.ref),
        ],
      );
      if (a.install) {
        await m.query(
          `WITH t AS (SELECT * FROM unnest($1::int[], $2::int[], $3::int[]) AS t(h, mid, p)),
           dep AS (
             INSERT INTO deployments (host_id, module_id, built_module_id, module_name, state, active_mode, priority, operation_id, security_window_s)
             SELECT t.h, t.mid, b.id, $4, 'pending', $5, t.p, $6, $7 FROM t
             JOIN built_modules b ON b.host_id = t.h AND b.module_id = t.mid
           )
           INSERT INTO pending_operations (host_id, module_id, kind, args, operation_id)
           SELECT t.h, t.mid, 'install', jsonb_build_object('module', $4::text), $6 FROM t`,
          [hostIds, allocated.map((x) => x.moduleId), allocated.map((x) => x.priority), batch.moduleName, a.activeMode, batch.operationId, a.securityWindowS ?? null],
        );
      }
      await m.query(
        `UPDATE pending_operations SET state = 'done', updated_at = now() WHERE id = ANY($1::uuid[])`,
        [batch.hosts.map((h) => h.pendingId)],
      );
      // A build-only operation succeeds per host here; a deploy succeeds when the device reports it.
      if (!a.install) await this.operations.progress(batch.operationId, allocated.length, 0, m);
      return allocated;
    });
  }

  /**
   * Hosts (of `hostIds`) that already run `moduleName`: not deprecated, not failed, and still
   * reported by the device (a host error means the device lost it: deploy it again).
   */
  async hostsRunning(hostIds: number[], moduleName: string): Promise<number[]> {
    const rows: Array<{ host_id: number }> = await this.ds.query(
      `SELECT DISTINCT host_id FROM deployments
       WHERE host_id = ANY($1::int[]) AND module_name = $2 AND state <> 'failed' AND NOT deprecated AND host_error_at IS NULL
       ORDER BY host_id`,
      [hostIds, moduleName],
    );
    return rows.map((r) => Number(r.host_id));
  }

  /** Hosts (of `hostIds`) that already hold `priority` on a live deployment or a module awaiting install. */
  async priorityHolders(hostIds: number[], priority: number): Promise<Array<{ hostId: number; moduleId: number }>> {
    const rows: Array<{ host_id: number; module_id: number }> = await this.ds.query(
      `SELECT host_id, module_id FROM deployments WHERE host_id = ANY($1::int[]) AND priority = $2 AND state <> 'failed'
       UNION SELECT host_id, module_id FROM built_modules WHERE host_id = ANY($1::int[]) AND priority = $2 AND req_install`,
      [hostIds, priority],
    );
    return rows.map((r) => ({ hostId: Number(r.host_id), moduleId: Number(r.module_id) }));
  }

  async listBuilt(f: BuildFilter) {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT host_id, module_id, module_name, active_mode, priority, apply_now, artifact_sha256, artifact_size, req_install, built_at, operation_id
       FROM built_modules
       WHERE ($1::int IS NULL OR host_id = $1) AND ($2::text IS NULL OR module_name = $2) AND ($3::uuid IS NULL OR operation_id = $3)
       ORDER BY built_at DESC, host_id LIMIT $4`,
      [f.hostId ?? null, f.module ?? null, f.operationId ?? null, f.limit ?? 100],
    );
    return rows.map((r) => ({
      hostId: Number(r.host_id),
      moduleId: Number(r.module_id),
      moduleName: r.module_name as string,
      activeMode: Number(r.active_mode),
      priority: Number(r.priority),
      applyNow: r.apply_now as boolean,
      artifactSha256: (r.artifact_sha256 as string) ?? null,
      artifactSize: r.artifact_size === null ? null : Number(r.artifact_size),
      reqInstall: r.req_install as boolean,
      builtAt: r.built_at as Date,
      operationId: (r.operation_id as string) ?? null,
    }));
  }

  async listErrors(f: BuildFilter) {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT id, host_id, module_name, release, error, operation_id, created_at FROM build_errors
       WHERE ($1::int IS NULL OR host_id = $1) AND ($2::text IS NULL OR module_name = $2) AND ($3::uuid IS NULL OR operation_id = $3)
       ORDER BY created_at DESC, id LIMIT $4`,
      [f.hostId ?? null, f.module ?? null, f.operationId ?? null, f.limit ?? 100],
    );
    return rows.map((r) => ({
      id: r.id as string,
      hostId: r.host_id === null ? null : Number(r.host_id),
      moduleName: r.module_name as string,
      release: (r.release as string) ?? null,
      error: r.error as string,
      operationId: (r.operation_id as string) ?? null,
      createdAt: r.created_at as Date,
    }));
  }

  private async nextModuleIds(m: EntityManager, hostIds: number[]): Promise<Map<number, number>> {
    const rows: Array<{ host_id: number; next_id: number }> = await m.query(
      `WITH used AS (
         SELECT host_id, module_id FROM built_modules WHERE host_id = ANY($1::int[])
         UNION ALL SELECT host_id, module_id FROM deployments WHERE host_id = ANY($1::int[])
         UNION ALL SELECT host_id, module_id FROM revocations WHERE host_id = ANY($1::int[])
         UNION ALL SELECT host_id, module_id FROM unknown_modules WHERE host_id = ANY($1::int[])
       )
       SELECT h AS host_id, coalesce(m.max_id, 0) + 1 AS next_id
       FROM unnest($1::int[]) AS h
       LEFT JOIN (SELECT host_id, max(module_id) AS max_id FROM used GROUP BY host_id) m ON m.host_id = h`,
      [hostIds],
    );
    return new Map(rows.map((r) => [Number(r.host_id), Number(r.next_id)]));
  }

  private async usedPriorities(m: EntityManager, hostIds: number[]): Promise<Map<number, Set<number>>> {
    const rows: Array<{ host_id: number; priority: number }> = await m.query(
      `SELECT host_id, priority FROM deployments WHERE host_id = ANY($1::int[]) AND state <> 'failed'
       UNION SELECT host_id, priority FROM built_modules WHERE host_id = ANY($1::int[]) AND req_install`,
      [hostIds],
    );
    const used = new Map<number, Set<number>>();
    for (const r of rows) {
      const set = used.get(Number(r.host_id)) ?? new Set<number>();
      set.add(Number(r.priority));
      used.set(Number(r.host_id), set);
    }
    return used;
  }
}

/** A random priority 1..65534 that the host does not use yet (the prototype's default, minus collisions). */
export function freePriority(used: Set<number> | undefined): number {
  for (;;) {
    const p = randomInt(1, MAX_PRIORITY + 1);
    if (!used?.has(p)) return p;
  }
}
