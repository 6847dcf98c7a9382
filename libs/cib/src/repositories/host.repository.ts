import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export interface CheckinInput {
  mac: string;
  release: string;
  ip: string | null;
  port: number | null;
  middleboxType: string | null;
  /** Host id to give a new host (random / ipv4-octet modes); null takes the next sequence value. */
  proposedId: number | null;
}

export interface CheckinRow {
  hostId: number;
  mac: string;
  inserted: boolean;
  previous: { release: string; ip: string | null; port: number | null; middleboxType: string | null; online: boolean } | null;
}

export interface HostFilter {
  online?: boolean;
  hostIds?: number[];
  labels?: Record<string, string>;
  limit?: number;
  /** Only hosts with a larger id (paging). */
  afterHostId?: number;
}

export interface HostListRow {
  hostId: number;
  mac: string;
  release: string;
  ip: string | null;
  middleboxType: string | null;
  online: boolean;
  lastSeenAt: Date | null;
  lastReportAt: Date | null;
  moduleCount: number;
  labels: Record<string, string>;
}

export interface LivenessChange {
  hostId: number;
  lastSeenAt: Date | null;
}

/** The host registry: check-ins, liveness and queries, each one statement per batch. */
@Injectable()
export class HostRepository {
  constructor(private readonly ds: DataSource) {}

  /**
   * Registers or refreshes a batch of check-ins (distinct MACs) in one statement. A known MAC
   * keeps its host id; a new one gets `proposedId` or the next sequence value. A new host whose
   * proposed id is taken by another MAC is left out of the result (the caller reports it).
   */
  async checkin(items: CheckinInput[]): Promise<CheckinRow[]> {
    if (items.length === 0) return [];
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `WITH input AS (
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::int[])
           AS t(mac, release, ip, port, middlebox_type, proposed_id)
       ),
       prev AS (
         SELECT h.host_id, h.mac, h.release, h.ip, h.port, h.middlebox_type, h.online
         FROM hosts h JOIN input i ON i.mac = h.mac
       ),
       ins AS (
         INSERT INTO hosts AS h (host_id, mac, release, ip, port, middlebox_type, online, last_seen_at, last_checkin_at)
         SELECT coalesce(p.host_id, i.proposed_id, nextval('host_id_seq')), i.mac, i.release, i.ip, i.port, i.middlebox_type, true, now(), now()
         FROM input i LEFT JOIN prev p ON p.mac = i.mac
         WHERE p.host_id IS NOT NULL OR i.proposed_id IS NULL
            OR NOT EXISTS (SELECT 1 FROM hosts x WHERE x.host_id = i.proposed_id)
         ON CONFLICT (mac) DO UPDATE SET
           release = EXCLUDED.release, ip = EXCLUDED.ip, port = EXCLUDED.port,
           middlebox_type = EXCLUDED.middlebox_type, online = true,
           last_seen_at = now(), last_checkin_at = now(), updated_at = now()
         RETURNING h.host_id, h.mac, h.middlebox_type, (xmax = 0) AS inserted
       ),
       mb_del AS (
         DELETE FROM middleboxes m USING ins WHERE m.host_id = ins.host_id AND ins.middlebox_type IS NULL
       ),
       mb AS (
         INSERT INTO middleboxes (host_id, type)
         SELECT host_id, middlebox_type FROM ins WHERE middlebox_type IS NOT NULL
         ON CONFLICT (host_id) DO UPDATE SET type = EXCLUDED.type, updated_at = now()
       )
       SELECT ins.host_id, ins.mac, ins.inserted, p.release AS prev_release, p.ip AS prev_ip, p.port AS prev_port,
              p.middlebox_type AS prev_middlebox_type, p.online AS prev_online
       FROM ins LEFT JOIN prev p ON p.mac = ins.mac`,
      [
        items.map((i) => i.mac),
        items.map((i) => i.release),
        items.map((i) => i.ip),
        items.map((i) => i.port),
        items.map((i) => i.middleboxType),
        items.map((i) => i.proposedId),
      ],
    );
    return rows.map((r) => ({
      hostId: Number(r.host_id),
      mac: r.mac as string,
      inserted: r.inserted as boolean,
      previous: r.inserted
        ? null
        : {
            release: r.prev_release as string,
            ip: r.prev_ip as string | null,
            port: r.prev_port as number | null,
            middleboxType: r.prev_middlebox_type as string | null,
            online: r.prev_online as boolean,
          },
    }));
  }

  async list(filter: HostFilter = {}): Promise<{ hosts: HostListRow[]; total: number }> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.online !== undefined) {
      params.push(filter.online);
      where.push(`h.online = $${params.length}`);
    }
    if (filter.hostIds) {
      params.push(filter.hostIds);
      where.push(`h.host_id = ANY($${params.length}::int[])`);
    }
    if (filter.labels && Object.keys(filter.labels).length) {
      params.push(JSON.stringify(filter.labels));
      where.push(`h.labels @> $${params.length}::jsonb`);
    }
    const cond = where.length ? `WHERE ${where.join(' AND ')}` : '';
    params.push(filter.afterHostId ?? 0);
    const after = `h.host_id > $${params.length}`;
    params.push(filter.limit ?? 10_000);
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT h.host_id, h.mac, h.release, h.ip, h.middlebox_type, h.online, h.last_seen_at, h.last_report_at, h.labels,
              (SELECT count(*) FROM deployments d WHERE d.host_id = h.host_id AND d.state <> 'failed')::int AS module_count
       FROM hosts h ${cond ? `${cond} AND ${after}` : `WHERE ${after}`}
       ORDER BY h.host_id
       LIMIT $${params.length}`,
      params,
    );
    const [{ total }]: Array<{ total: number }> = await this.ds.query(`SELECT count(*)::int AS total FROM hosts h ${cond}`, params.slice(0, where.length));
    return {
      total: Number(total),
      hosts: rows.map((r) => ({
        hostId: Number(r.host_id),
        mac: r.mac as string,
        release: r.release as string,
        ip: (r.ip as string) ?? null,
        middleboxType: (r.middlebox_type as string) ?? null,
        online: r.online as boolean,
        lastSeenAt: (r.last_seen_at as Date) ?? null,
        lastReportAt: (r.last_report_at as Date) ?? null,
        moduleCount: Number(r.module_count),
        labels: (r.labels as Record<string, string>) ?? {},
      })),
    };
  }

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

  async existingHostIds(hostIds: number[]): Promise<Set<number>> {
    const rows: Array<{ host_id: number }> = await this.ds.query(`SELECT host_id FROM hosts WHERE host_id = ANY($1::int[])`, [hostIds]);
    return new Set(rows.map((r) => Number(r.host_id)));
  }
}
