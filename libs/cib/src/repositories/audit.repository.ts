import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface AuditEntry {
  actor: string;
  action: string;
  operationId?: string | null;
  hostId?: number | null;
  moduleId?: number | null;
  details?: Record<string, unknown>;
}

/** The append-only audit log: who did what to which host/module, written in batches. */
@Injectable()
export class AuditRepository {
  constructor(private readonly ds: DataSource) {}

  async record(entries: AuditEntry[], m: EntityManager = this.ds.manager): Promise<void> {
    if (!entries.length) return;
    await m.query(
      `INSERT INTO audit_log (actor, action, operation_id, host_id, module_id, details)
       SELECT * FROM unnest($1::text[], $2::text[], $3::uuid[], $4::int[], $5::int[], $6::jsonb[])`,
      [
        entries.map((e) => e.actor),
        entries.map((e) => e.action),
        entries.map((e) => e.operationId ?? null),
        entries.map((e) => e.hostId ?? null),
        entries.map((e) => e.moduleId ?? null),
        entries.map((e) => JSON.stringify(e.details ?? {})),
      ],
    );
  }

  async recent(limit = 100, hostId?: number): Promise<Array<Record<string, unknown>>> {
    return this.ds.query(
      `SELECT id, at, actor, action, operation_id, host_id, module_id, details FROM audit_log
       WHERE ($2::int IS NULL OR host_id = $2) ORDER BY at DESC, id DESC LIMIT $1`,
      [limit, hostId ?? null],
    );
  }
}
