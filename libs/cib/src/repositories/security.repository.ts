import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { OperationRepository } from './operation.repository';

export interface DueChallenge {
  hostId: number;
  moduleId: number;
  moduleName: string;
  keyId: string | null;
}

export interface ChallengeFailure {
  hostId: number;
  moduleId: number;
  moduleName: string | null;
  reason: string;
}

/** A deployment's identity in set-based statements: parallel arrays for unnest. */
const cols = (rows: Array<{ hostId: number; moduleId: number }>) => [rows.map((r) => r.hostId), rows.map((r) => r.moduleId)];

/**
 * Security challenges in the CIB (docs/security.md): which deployments are due (their security
 * window passed since the last check or the install), claimed a batch at a time with a lease so
 * replicas share the work; a pass stamps the deployment, a failure queues its revoke like an
 * operator's revoke (a revoke operation whose params.source is `challenge`; revoke-svc
 * delivers, the revocation is recorded with source `challenge`).
 */
@Injectable()
export class SecurityRepository {
  constructor(
    private readonly ds: DataSource,
    private readonly operations: OperationRepository,
  ) {}

  /** Claims up to `limit` due deployments of online hosts (oldest check first); one statement. */
  async claimDueChallenges(limit: number, defaultWindowS: number, leaseS: number): Promise<DueChallenge[]> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `WITH due AS (
         SELECT d.host_id, d.module_id FROM deployments d
         JOIN hosts h ON h.host_id = d.host_id AND h.online
         WHERE d.state IN ('installed','verified')
           AND coalesce(d.security_checked_at, d.installed_at) + make_interval(secs => coalesce(d.security_window_s, $2)) <= now()
           AND (d.challenge_lease_until IS NULL OR d.challenge_lease_until < now())
           AND NOT EXISTS (SELECT 1 FROM pending_operations p WHERE p.host_id = d.host_id AND p.module_id = d.module_id
                           AND p.kind = 'revoke' AND p.state IN ('pending','sent'))
         ORDER BY coalesce(d.security_checked_at, d.installed_at)
         LIMIT $1
         FOR UPDATE OF d SKIP LOCKED
       ),
       claimed AS (
         UPDATE deployments d SET challenge_lease_until = now() + make_interval(secs => $3)
         FROM due WHERE d.host_id = due.host_id AND d.module_id = due.module_id
         RETURNING d.host_id, d.module_id, d.module_name
       )
       SELECT c.host_id, c.module_id, c.module_name, b.key_id FROM claimed c
       LEFT JOIN built_modules b ON b.host_id = c.host_id AND b.module_id = c.module_id
       ORDER BY c.host_id, c.module_id`,
      [limit, defaultWindowS, leaseS],
    );
    return rows.map((r) => ({ hostId: Number(r.host_id), moduleId: Number(r.module_id), moduleName: r.module_name as string, keyId: (r.key_id as string) ?? null }));
  }

  /** Passed: checked now, installed → verified, lease released. */
  async challengesPassed(passed: Array<{ hostId: number; moduleId: number }>): Promise<void> {
    if (!passed.length) return;
    await this.ds.query(
      `UPDATE deployments d SET security_checked_at = now(), challenge_lease_until = NULL, updated_at = now(),
         state = CASE WHEN d.state = 'installed' THEN 'verified' ELSE d.state END
       FROM unnest($1::int[], $2::int[]) AS t(host_id, module_id)
       WHERE d.host_id = t.host_id AND d.module_id = t.module_id`,
      cols(passed),
    );
  }

  /** Not answered for a reason that is not the module's (host went offline): due again after the lease. */
  async releaseChallenges(rows: Array<{ hostId: number; moduleId: number }>): Promise<void> {
    if (!rows.length) return;
    await this.ds.query(
      `UPDATE deployments d SET challenge_lease_until = NULL FROM unnest($1::int[], $2::int[]) AS t(host_id, module_id)
       WHERE d.host_id = t.host_id AND d.module_id = t.module_id`,
      cols(rows),
    );
  }

  /** Failed: one revoke operation (source `challenge`) with a pending revoke per module; returns how many were queued. */
  async challengesFailed(operationId: string, failures: ChallengeFailure[]): Promise<number> {
    if (!failures.length) return 0;
    return this.ds.transaction(async (m) => {
      const queued = await this.operations.create(
        { id: operationId, kind: 'revoke', params: { source: 'challenge', failed: failures.length }, requestedBy: 'security-svc' },
        failures.map((f) => ({ hostId: f.hostId, moduleId: f.moduleId, kind: 'revoke' as const, args: { reason: f.reason, module: f.moduleName } })),
        m,
      );
      await m.query(
        `UPDATE deployments d SET challenge_lease_until = NULL, failure_reason = t.reason, updated_at = now()
         FROM unnest($1::int[], $2::int[], $3::text[]) AS t(host_id, module_id, reason)
         WHERE d.host_id = t.host_id AND d.module_id = t.module_id`,
        [...cols(failures), failures.map((f) => f.reason)],
      );
      return queued;
    });
  }
}
