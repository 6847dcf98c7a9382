import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface WrappedKey {
  id: string;
  wrapped: Buffer;
  kekId: string;
}

/** Module keys, stored only wrapped under a key-encryption key. */
@Injectable()
export class KeyRepository {
  constructor(private readonly ds: DataSource) {}

  async insert(keys: WrappedKey[]): Promise<void> {
    if (!keys.length) return;
    await this.ds.query(
      `INSERT INTO module_keys (id, wrapped, kek_id) SELECT * FROM unnest($1::uuid[], $2::bytea[], $3::text[])`,
      [keys.map((k) => k.id), keys.map((k) => k.wrapped), keys.map((k) => k.kekId)],
    );
  }

  async get(ids: string[]): Promise<WrappedKey[]> {
    const rows: Array<{ id: string; wrapped: Buffer; kek_id: string }> = await this.ds.query(
      `SELECT id, wrapped, kek_id FROM module_keys WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    return rows.map((r) => ({ id: r.id, wrapped: r.wrapped, kekId: r.kek_id }));
  }

  /** Keys still wrapped under any KEK other than `kekId`, a page at a time (for KEK rotation). */
  async notWrappedWith(kekId: string, limit: number): Promise<WrappedKey[]> {
    const rows: Array<{ id: string; wrapped: Buffer; kek_id: string }> = await this.ds.query(
      `SELECT id, wrapped, kek_id FROM module_keys WHERE kek_id <> $1 ORDER BY id LIMIT $2`,
      [kekId, limit],
    );
    return rows.map((r) => ({ id: r.id, wrapped: r.wrapped, kekId: r.kek_id }));
  }

  async rewrap(keys: WrappedKey[]): Promise<void> {
    if (!keys.length) return;
    await this.ds.query(
      `UPDATE module_keys k SET wrapped = u.wrapped, kek_id = u.kek_id
       FROM unnest($1::uuid[], $2::bytea[], $3::text[]) AS u(id, wrapped, kek_id) WHERE k.id = u.id`,
      [keys.map((k) => k.id), keys.map((k) => k.wrapped), keys.map((k) => k.kekId)],
    );
  }
}
