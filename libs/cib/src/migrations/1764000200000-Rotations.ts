import { MigrationInterface, QueryRunner } from 'typeorm';

/** Rotations: replace one module by another on a set of hosts, draining the old one first. */
export class Rotations1764000200000 implements MigrationInterface {
  name = 'Rotations1764000200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE rotations (
        operation_id         uuid PRIMARY KEY REFERENCES operations(id) ON DELETE CASCADE,
        deploy_operation_id  uuid REFERENCES operations(id) ON DELETE SET NULL,
        from_module          text NOT NULL,
        to_module            text NOT NULL,
        host_ids             integer[] NOT NULL,
        drain_timeout_ms     integer NOT NULL,
        state                text NOT NULL DEFAULT 'running' CHECK (state IN ('running','done','failed')),
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX rotations_running_idx ON rotations (state) WHERE state = 'running'`);
    // When each deprecation of a rotation took effect, so the drain timeout counts from there.
    await q.query(`ALTER TABLE deployments ADD COLUMN deprecated_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE deployments DROP COLUMN IF EXISTS deprecated_at`);
    await q.query(`DROP TABLE IF EXISTS rotations`);
  }
}
