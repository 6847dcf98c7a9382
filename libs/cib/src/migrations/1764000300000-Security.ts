import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Security (docs/security.md): challenge scheduling per deployment, and device identities.
 *
 * - deployments.security_window_s: how often this deployment is challenged (NULL = the
 *   security-svc default); challenge_lease_until: a claimed challenge in flight, so replicas
 *   never challenge one deployment twice at once.
 * - devices: each DCA's enrolled public keys (Ed25519 to sign, X25519 to receive artifacts),
 *   by MAC, and whether it is approved; a host's check-ins, reports and answers must come from it.
 */
export class Security1764000300000 implements MigrationInterface {
  name = 'Security1764000300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deployments ADD COLUMN security_window_s integer CHECK (security_window_s > 0)`);
    await q.query(`ALTER TABLE deployments ADD COLUMN challenge_lease_until timestamptz`);
    await q.query(`CREATE INDEX deployments_challenge_due_idx ON deployments (coalesce(security_checked_at, installed_at)) WHERE state IN ('installed','verified')`);
    await q.query(`
      CREATE TABLE devices (
        mac           text PRIMARY KEY,
        host_id       integer UNIQUE REFERENCES hosts(host_id) ON DELETE SET NULL,
        sign_key      text NOT NULL,
        enc_key       text NOT NULL,
        fingerprint   text NOT NULL,
        state         text NOT NULL CHECK (state IN ('pending','approved','revoked')),
        enrolled_by   text CHECK (enrolled_by IN ('token','operator')),
        created_at    timestamptz NOT NULL DEFAULT now(),
        approved_at   timestamptz,
        revoked_at    timestamptz,
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX devices_state_idx ON devices (state)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS devices`);
    await q.query(`DROP INDEX IF EXISTS deployments_challenge_due_idx`);
    await q.query(`ALTER TABLE deployments DROP COLUMN IF EXISTS challenge_lease_until`);
    await q.query(`ALTER TABLE deployments DROP COLUMN IF EXISTS security_window_s`);
  }
}
