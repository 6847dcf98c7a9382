import { MigrationInterface, QueryRunner } from 'typeorm';

/** The whole CIB of the brief. Later issues add columns and tables in their own migrations. */
export class InitialSchema1764000000000 implements MigrationInterface {
  name = 'InitialSchema1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS pgcrypto`);
    await q.query(`CREATE SEQUENCE host_id_seq START 1`);
    await q.query(`
      CREATE TABLE hosts (
        host_id          integer PRIMARY KEY CHECK (host_id > 0),
        mac              text NOT NULL UNIQUE,
        release          text NOT NULL,
        ip               text,
        port             integer,
        middlebox_type   text,
        labels           jsonb NOT NULL DEFAULT '{}',
        online           boolean NOT NULL DEFAULT false,
        last_seen_at     timestamptz,
        last_report_at   timestamptz,
        last_checkin_at  timestamptz,
        last_report_issued_at timestamptz,
        created_at       timestamptz NOT NULL DEFAULT now(),
        updated_at       timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX hosts_online_seen_idx ON hosts (last_seen_at) WHERE online`);
    await q.query(`CREATE INDEX hosts_labels_idx ON hosts USING gin (labels)`);

    await q.query(`
      CREATE TABLE symvers (
        host_id       integer PRIMARY KEY REFERENCES hosts(host_id) ON DELETE CASCADE,
        release       text NOT NULL,
        sha256        text NOT NULL,
        size          integer NOT NULL,
        content       bytea NOT NULL,
        collected_at  timestamptz NOT NULL DEFAULT now()
      )`);

    await q.query(`
      CREATE TABLE operations (
        id            uuid PRIMARY KEY,
        kind          text NOT NULL,
        status        text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending','running','succeeded','failed','partially_failed','cancelled')),
        params        jsonb NOT NULL DEFAULT '{}',
        target_count  integer NOT NULL DEFAULT 0,
        pending       integer NOT NULL DEFAULT 0,
        succeeded     integer NOT NULL DEFAULT 0,
        failed        integer NOT NULL DEFAULT 0,
        error         text,
        requested_by  text,
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now(),
        finished_at   timestamptz
      )`);
    await q.query(`CREATE INDEX operations_created_idx ON operations (created_at DESC)`);

    await q.query(`
      CREATE TABLE built_modules (
        id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        host_id          integer NOT NULL REFERENCES hosts(host_id) ON DELETE CASCADE,
        module_id        integer NOT NULL CHECK (module_id BETWEEN 1 AND 65535),
        module_name      text NOT NULL,
        source_sha256    text,
        key_id           uuid,
        active_mode      smallint NOT NULL DEFAULT 1,
        priority         integer NOT NULL,
        apply_now        boolean NOT NULL DEFAULT true,
        params           jsonb NOT NULL DEFAULT '{}',
        artifact_sha256  text,
        artifact_size    integer,
        artifact_ref     text,
        req_install      boolean NOT NULL DEFAULT true,
        operation_id     uuid REFERENCES operations(id) ON DELETE SET NULL,
        built_at         timestamptz NOT NULL DEFAULT now(),
        UNIQUE (host_id, module_id)
      )`);

    await q.query(`
      CREATE TABLE build_errors (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        host_id       integer REFERENCES hosts(host_id) ON DELETE CASCADE,
        module_name   text NOT NULL,
        release       text,
        error         text NOT NULL,
        operation_id  uuid REFERENCES operations(id) ON DELETE SET NULL,
        created_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX build_errors_created_idx ON build_errors (created_at DESC)`);

    await q.query(`
      CREATE TABLE deployments (
        host_id              integer NOT NULL REFERENCES hosts(host_id) ON DELETE CASCADE,
        module_id            integer NOT NULL CHECK (module_id BETWEEN 1 AND 65535),
        built_module_id      uuid REFERENCES built_modules(id) ON DELETE SET NULL,
        module_name          text NOT NULL,
        state                text NOT NULL DEFAULT 'pending'
                             CHECK (state IN ('pending','delivered','installed','verified','failed')),
        active_mode          smallint NOT NULL DEFAULT 1,
        priority             integer NOT NULL,
        deprecated           boolean NOT NULL DEFAULT false,
        socket_count         integer NOT NULL DEFAULT 0,
        reported_at          timestamptz,
        kernel_ts            double precision,
        installed_at         timestamptz,
        host_error_at        timestamptz,
        security_checked_at  timestamptz,
        failure_reason       text,
        operation_id         uuid REFERENCES operations(id) ON DELETE SET NULL,
        created_at           timestamptz NOT NULL DEFAULT now(),
        updated_at           timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (host_id, module_id)
      )`);
    // Two live modules on one host never share a priority.
    await q.query(`CREATE UNIQUE INDEX deployments_host_priority_uq ON deployments (host_id, priority) WHERE state <> 'failed'`);
    await q.query(`CREATE INDEX deployments_state_idx ON deployments (state)`);

    await q.query(`
      CREATE TABLE pending_operations (
        id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        host_id       integer NOT NULL REFERENCES hosts(host_id) ON DELETE CASCADE,
        module_id     integer,
        kind          text NOT NULL CHECK (kind IN ('build','install','toggle','priority','deprecate','revoke','inverse_install','inverse_remove')),
        args          jsonb NOT NULL DEFAULT '{}',
        operation_id  uuid REFERENCES operations(id) ON DELETE SET NULL,
        state         text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','done','failed')),
        attempts      integer NOT NULL DEFAULT 0,
        last_error    text,
        not_before    timestamptz NOT NULL DEFAULT now(),
        created_at    timestamptz NOT NULL DEFAULT now(),
        updated_at    timestamptz NOT NULL DEFAULT now()
      )`);
    // One open request per (host, module, kind): repeating a command does not queue it twice.
    // A build has no module id yet, so the module name (args.module) tells builds apart.
    await q.query(`
      CREATE UNIQUE INDEX pending_operations_open_uq
      ON pending_operations (host_id, coalesce(module_id, 0), kind, coalesce(args->>'module', ''))
      WHERE state IN ('pending','sent')`);
    await q.query(`CREATE INDEX pending_operations_due_idx ON pending_operations (not_before) WHERE state IN ('pending','sent')`);

    await q.query(`
      CREATE TABLE revocations (
        id            bigserial PRIMARY KEY,
        host_id       integer NOT NULL REFERENCES hosts(host_id) ON DELETE CASCADE,
        module_id     integer NOT NULL,
        module_name   text,
        source        text NOT NULL CHECK (source IN ('report','operator','challenge','rotate')),
        reason        text,
        kernel_ts     double precision,
        operation_id  uuid REFERENCES operations(id) ON DELETE SET NULL,
        revoked_at    timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX revocations_kernel_uq ON revocations (host_id, module_id, kernel_ts) WHERE kernel_ts IS NOT NULL`);

    await q.query(`
      CREATE TABLE unknown_modules (
        host_id        integer NOT NULL REFERENCES hosts(host_id) ON DELETE CASCADE,
        module_id      integer NOT NULL,
        active_mode    smallint,
        socket_count   integer,
        first_seen_at  timestamptz NOT NULL DEFAULT now(),
        last_seen_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (host_id, module_id)
      )`);

    await q.query(`
      CREATE TABLE middleboxes (
        host_id     integer PRIMARY KEY REFERENCES hosts(host_id) ON DELETE CASCADE,
        type        text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX middleboxes_type_idx ON middleboxes (type)`);

    await q.query(`
      CREATE TABLE inverse_modules (
        id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        module_name     text NOT NULL,
        middlebox_type  text NOT NULL,
        file_name       text NOT NULL,
        content         bytea NOT NULL,
        sha256          text NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        UNIQUE (module_name, middlebox_type)
      )`);

    await q.query(`
      CREATE TABLE inverse_deployments (
        middlebox_host_id  integer NOT NULL REFERENCES hosts(host_id) ON DELETE CASCADE,
        inverse_module_id  uuid NOT NULL REFERENCES inverse_modules(id) ON DELETE CASCADE,
        state              text NOT NULL CHECK (state IN ('required','installed','removed')),
        required_at        timestamptz,
        installed_at       timestamptz,
        removed_at         timestamptz,
        last_error         text,
        updated_at         timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (middlebox_host_id, inverse_module_id)
      )`);

    await q.query(`
      CREATE TABLE audit_log (
        id            bigserial PRIMARY KEY,
        at            timestamptz NOT NULL DEFAULT now(),
        actor         text NOT NULL,
        action        text NOT NULL,
        operation_id  uuid,
        host_id       integer,
        module_id     integer,
        details       jsonb NOT NULL DEFAULT '{}'
      )`);
    await q.query(`CREATE INDEX audit_log_at_idx ON audit_log (at DESC)`);
    await q.query(`CREATE INDEX audit_log_host_idx ON audit_log (host_id, at DESC) WHERE host_id IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'audit_log', 'inverse_deployments', 'inverse_modules', 'middleboxes', 'unknown_modules', 'revocations',
      'pending_operations', 'deployments', 'build_errors', 'built_modules', 'operations', 'symvers', 'hosts',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
    await q.query(`DROP SEQUENCE IF EXISTS host_id_seq`);
  }
}
