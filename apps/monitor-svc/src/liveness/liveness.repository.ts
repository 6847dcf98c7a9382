import { Injectable } from '@nestjs/common';
import type { LivenessChange } from '@nco/cib';
import { DataSource } from 'typeorm';

/**
 * The sweep's two statements. `markStaleOffline` is libs/cib HostRepository's statement wrapped
 * in `WITH … SELECT`: TypeORM's query() answers a bare UPDATE with `[rows, rowCount]`, so the
 * HostRepository version returns two bogus rows instead of the hosts it changed. Both belong in
 * HostRepository once that shared file is fixed.
 */
@Injectable()
export class LivenessRepository {
  constructor(private readonly ds: DataSource) {}

  /** Hosts that stopped reporting: marks them offline and returns exactly those it changed. */
  async markStaleOffline(silentForMs: number): Promise<LivenessChange[]> {
    const rows: Array<{ host_id: number; last_seen_at: Date | null }> = await this.ds.query(
      `WITH stale AS (
         UPDATE hosts SET online = false, updated_at = now()
         WHERE online AND (last_seen_at IS NULL OR last_seen_at < now() - make_interval(secs => $1::float8 / 1000))
         RETURNING host_id, last_seen_at
       )
       SELECT * FROM stale`,
      [silentForMs],
    );
    return rows.map((r) => ({ hostId: Number(r.host_id), lastSeenAt: r.last_seen_at }));
  }

  async countByLiveness(): Promise<{ online: number; offline: number }> {
    const [row]: Array<{ online: number; offline: number }> = await this.ds.query(
      `SELECT count(*) FILTER (WHERE online)::int AS online, count(*) FILTER (WHERE NOT online)::int AS offline FROM hosts`,
    );
    return { online: Number(row.online), offline: Number(row.offline) };
  }
}
