import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface HostSymversState {
  hostId: number;
  release: string;
  online: boolean;
  /** Null when the CIB has none, or has one for another kernel release (it must be fetched again). */
  symversSha256: string | null;
}

export interface SymversInput {
  hostId: number;
  release: string;
  sha256: string;
  content: Buffer;
}

/** Each host's Module.symvers of the Layer 4.5 core, with its hash and time. */
@Injectable()
export class SymversRepository {
  constructor(private readonly ds: DataSource) {}

  async stateOf(hostIds: number[]): Promise<HostSymversState[]> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT h.host_id, h.release, h.online, CASE WHEN s.release = h.release THEN s.sha256 END AS sha256
       FROM hosts h LEFT JOIN symvers s ON s.host_id = h.host_id
       WHERE h.host_id = ANY($1::int[])`,
      [hostIds],
    );
    return rows.map((r) => ({
      hostId: Number(r.host_id),
      release: r.release as string,
      online: r.online as boolean,
      symversSha256: (r.sha256 as string) ?? null,
    }));
  }

  async store(rows: SymversInput[]): Promise<void> {
    if (!rows.length) return;
    await this.ds.query(
      `INSERT INTO symvers (host_id, release, sha256, size, content)
       SELECT h, r, s, octet_length(c), c FROM unnest($1::int[], $2::text[], $3::text[], $4::bytea[]) AS t(h, r, s, c)
       ON CONFLICT (host_id) DO UPDATE SET release = EXCLUDED.release, sha256 = EXCLUDED.sha256,
         size = EXCLUDED.size, content = EXCLUDED.content, collected_at = now()`,
      [rows.map((r) => r.hostId), rows.map((r) => r.release), rows.map((r) => r.sha256), rows.map((r) => r.content)],
    );
  }

  /** The content of one symvers by its hash (the same file is shared by every host of a flavor). */
  async contentBySha(sha256: string): Promise<Buffer | null> {
    const rows: Array<{ content: Buffer }> = await this.ds.query(`SELECT content FROM symvers WHERE sha256 = $1 LIMIT 1`, [sha256]);
    return rows[0]?.content ?? null;
  }
}
