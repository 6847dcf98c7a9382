import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Middleboxes and inverse modules, kept in step with deployments:
 * - inverse_modules: where a link came from (catalog or operator), its size, the catalog source it
 *   was taken from, and unlinked_at (an unlinked inverse stays until every middlebox dropped it);
 *   one live file name per middlebox type, since a middlebox keeps them side by side in one folder;
 * - inverse_deployments: state 'removing' (not wanted any more, still on the middlebox), the sha256
 *   the middlebox holds, and gave_up_at (retries ran out: the next check-in tries again).
 */
export class Middlebox1764000400000 implements MigrationInterface {
  name = 'Middlebox1764000400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE inverse_modules
        ADD COLUMN size integer NOT NULL DEFAULT 0,
        ADD COLUMN source text NOT NULL DEFAULT 'operator' CHECK (source IN ('catalog','operator')),
        ADD COLUMN catalog_sha256 text,
        ADD COLUMN unlinked_at timestamptz,
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()`);
    await q.query(`UPDATE inverse_modules SET size = octet_length(content)`);
    await q.query(`CREATE UNIQUE INDEX inverse_modules_live_file_uq ON inverse_modules (middlebox_type, file_name) WHERE unlinked_at IS NULL`);
    await q.query(`ALTER TABLE inverse_deployments DROP CONSTRAINT inverse_deployments_state_check`);
    await q.query(`ALTER TABLE inverse_deployments ADD CONSTRAINT inverse_deployments_state_check CHECK (state IN ('required','installed','removing','removed'))`);
    await q.query(`ALTER TABLE inverse_deployments ADD COLUMN installed_sha256 text, ADD COLUMN gave_up_at timestamptz`);
    await q.query(`CREATE INDEX inverse_deployments_inverse_idx ON inverse_deployments (inverse_module_id)`);
    // The required set asks "is this module deployed anywhere?" per inverse module.
    await q.query(`CREATE INDEX deployments_module_name_idx ON deployments (module_name)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS deployments_module_name_idx`);
    await q.query(`DROP INDEX IF EXISTS inverse_deployments_inverse_idx`);
    await q.query(`ALTER TABLE inverse_deployments DROP COLUMN IF EXISTS installed_sha256, DROP COLUMN IF EXISTS gave_up_at`);
    await q.query(`DELETE FROM inverse_deployments WHERE state = 'removing'`);
    await q.query(`ALTER TABLE inverse_deployments DROP CONSTRAINT inverse_deployments_state_check`);
    await q.query(`ALTER TABLE inverse_deployments ADD CONSTRAINT inverse_deployments_state_check CHECK (state IN ('required','installed','removed'))`);
    await q.query(`DROP INDEX IF EXISTS inverse_modules_live_file_uq`);
    await q.query(`
      ALTER TABLE inverse_modules DROP COLUMN IF EXISTS size, DROP COLUMN IF EXISTS source, DROP COLUMN IF EXISTS catalog_sha256,
        DROP COLUMN IF EXISTS unlinked_at, DROP COLUMN IF EXISTS updated_at`);
  }
}
