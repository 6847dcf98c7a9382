import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

/**
 * Fleet counts for the liveness gauges. One aggregate over `hosts`; belongs in libs/cib's
 * HostRepository once that file is free to change (kept here to stay out of a shared file).
 */
@Injectable()
export class HostStatsRepository {
  constructor(private readonly ds: DataSource) {}

  async countByLiveness(): Promise<{ online: number; offline: number }> {
    const [row]: Array<{ online: number; offline: number }> = await this.ds.query(
      `SELECT count(*) FILTER (WHERE online)::int AS online, count(*) FILTER (WHERE NOT online)::int AS offline FROM hosts`,
    );
    return { online: Number(row.online), offline: Number(row.offline) };
  }
}
