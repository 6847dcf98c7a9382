import { MigrationInterface, QueryRunner } from 'typeorm';

/** Module catalog, compiled templates per kernel flavor, and module keys (wrapped at rest). */
export class ConstructAndKeys1764000100000 implements MigrationInterface {
  name = 'ConstructAndKeys1764000100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE catalog_modules (
        name           text PRIMARY KEY,
        description    text NOT NULL,
        customizes     text NOT NULL,
        metadata       jsonb NOT NULL,
        source_sha256  text NOT NULL,
        files          jsonb NOT NULL,
        created_at     timestamptz NOT NULL DEFAULT now(),
        updated_at     timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE build_flavors (
        flavor           text PRIMARY KEY,
        module_name      text NOT NULL,
        source_sha256    text NOT NULL,
        release          text NOT NULL,
        symvers_sha256   text NOT NULL,
        artifact_ref     text NOT NULL,
        artifact_sha256  text NOT NULL,
        artifact_size    integer NOT NULL,
        compile_ms       integer NOT NULL,
        compiled_at      timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE module_keys (
        id          uuid PRIMARY KEY,
        wrapped     bytea NOT NULL,
        kek_id      text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX module_keys_kek_idx ON module_keys (kek_id)`);
    await q.query(`ALTER TABLE built_modules ADD COLUMN flavor text, ADD COLUMN toolchain text NOT NULL DEFAULT 'stamp'`);
    await q.query(`CREATE INDEX built_modules_operation_idx ON built_modules (operation_id)`);
    await q.query(`CREATE INDEX pending_operations_operation_idx ON pending_operations (operation_id, kind, state)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS pending_operations_operation_idx`);
    await q.query(`DROP INDEX IF EXISTS built_modules_operation_idx`);
    await q.query(`ALTER TABLE built_modules DROP COLUMN IF EXISTS flavor, DROP COLUMN IF EXISTS toolchain`);
    await q.query(`DROP TABLE IF EXISTS module_keys`);
    await q.query(`DROP TABLE IF EXISTS build_flavors`);
    await q.query(`DROP TABLE IF EXISTS catalog_modules`);
  }
}
