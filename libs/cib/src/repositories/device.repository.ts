import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';

export type DeviceState = 'pending' | 'approved' | 'revoked';

export interface DeviceRow {
  mac: string;
  hostId: number | null;
  signKey: string;
  encKey: string;
  fingerprint: string;
  state: DeviceState;
  enrolledBy: 'token' | 'operator' | null;
  createdAt: string;
  approvedAt: string | null;
  revokedAt: string | null;
}

export interface NewDevice {
  mac: string;
  signKey: string;
  encKey: string;
  fingerprint: string;
  state: 'pending' | 'approved';
  enrolledBy: 'token' | null;
}

const COLUMNS = `mac, host_id, sign_key, enc_key, fingerprint, state, enrolled_by, created_at, approved_at, revoked_at`;
const iso = (v: unknown) => (v ? new Date(v as string).toISOString() : null);
const toRow = (r: Record<string, unknown>): DeviceRow => ({
  mac: r.mac as string,
  hostId: r.host_id === null ? null : Number(r.host_id),
  signKey: r.sign_key as string,
  encKey: r.enc_key as string,
  fingerprint: r.fingerprint as string,
  state: r.state as DeviceState,
  enrolledBy: (r.enrolled_by as DeviceRow['enrolledBy']) ?? null,
  createdAt: iso(r.created_at)!,
  approvedAt: iso(r.approved_at),
  revokedAt: iso(r.revoked_at),
});

/**
 * Device identities (docs/security.md): each DCA's public keys by MAC, enrolled at its first
 * check-in (approved at once with a bootstrap-token proof, else pending for an operator), bound
 * to the host id it was given. Every lookup is by a whole batch (check-ins, deliveries, reports).
 */
@Injectable()
export class DeviceRepository {
  constructor(private readonly ds: DataSource) {}

  async byMacs(macs: string[]): Promise<Map<string, DeviceRow>> {
    if (!macs.length) return new Map();
    const rows: Array<Record<string, unknown>> = await this.ds.query(`SELECT ${COLUMNS} FROM devices WHERE mac = ANY($1::text[])`, [macs]);
    return new Map(rows.map((r) => [r.mac as string, toRow(r)]));
  }

  /** Writes first-time devices; a MAC enrolled meanwhile by a concurrent check-in keeps its row. */
  async enroll(devices: NewDevice[]): Promise<void> {
    if (!devices.length) return;
    await this.ds.query(
      `INSERT INTO devices (mac, sign_key, enc_key, fingerprint, state, enrolled_by, approved_at)
       SELECT t.mac, t.sk, t.ek, t.fp, t.st, t.eb, CASE WHEN t.st = 'approved' THEN now() END
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS t(mac, sk, ek, fp, st, eb)
       ON CONFLICT (mac) DO NOTHING`,
      [devices.map((d) => d.mac), devices.map((d) => d.signKey), devices.map((d) => d.encKey), devices.map((d) => d.fingerprint), devices.map((d) => d.state), devices.map((d) => d.enrolledBy)],
    );
  }

  /** Records which host id each (approved) device checked in as. */
  async bindHosts(pairs: Array<{ mac: string; hostId: number }>): Promise<void> {
    if (!pairs.length) return;
    await this.ds.query(
      `UPDATE devices d SET host_id = t.host_id, updated_at = now()
       FROM unnest($1::text[], $2::int[]) AS t(mac, host_id)
       WHERE d.mac = t.mac AND d.host_id IS DISTINCT FROM t.host_id`,
      [pairs.map((p) => p.mac), pairs.map((p) => p.hostId)],
    );
  }

  /** Every device bound to these hosts, with its state: a host whose device is not approved must not be believed. */
  async devicesOfHosts(hostIds: number[]): Promise<Map<number, { signKey: string; encKey: string; state: DeviceState; fingerprint: string }>> {
    if (!hostIds.length) return new Map();
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT host_id, sign_key, enc_key, state, fingerprint FROM devices WHERE host_id = ANY($1::int[])`,
      [hostIds],
    );
    return new Map(
      rows.map((r) => [Number(r.host_id), { signKey: r.sign_key as string, encKey: r.enc_key as string, state: r.state as DeviceState, fingerprint: r.fingerprint as string }]),
    );
  }

  /** Approved devices' keys by host id, for a batch of deliveries or reports. */
  async keysForHosts(hostIds: number[]): Promise<Map<number, { signKey: string; encKey: string; fingerprint: string }>> {
    if (!hostIds.length) return new Map();
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT host_id, sign_key, enc_key, fingerprint FROM devices WHERE host_id = ANY($1::int[]) AND state = 'approved'`,
      [hostIds],
    );
    return new Map(rows.map((r) => [Number(r.host_id), { signKey: r.sign_key as string, encKey: r.enc_key as string, fingerprint: r.fingerprint as string }]));
  }

  async list(state: DeviceState | undefined, limit: number): Promise<{ devices: DeviceRow[]; total: number }> {
    const where = state ? `WHERE state = $2` : '';
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `SELECT ${COLUMNS}, count(*) OVER () AS total FROM devices ${where} ORDER BY created_at, mac LIMIT $1`,
      state ? [limit, state] : [limit],
    );
    return { devices: rows.map(toRow), total: rows.length ? Number(rows[0].total) : 0 };
  }

  /** Moves one device (by MAC or fingerprint) to `state`; undefined when there is no such device. */
  async setState(device: string, state: 'approved' | 'revoked'): Promise<DeviceRow | undefined> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(
      `WITH upd AS (
         UPDATE devices SET state = $2, updated_at = now(),
           approved_at = CASE WHEN $2 = 'approved' THEN now() ELSE approved_at END,
           enrolled_by = CASE WHEN $2 = 'approved' AND state = 'pending' THEN 'operator' ELSE enrolled_by END,
           revoked_at = CASE WHEN $2 = 'revoked' THEN now() ELSE NULL END
         WHERE mac = lower($1) OR fingerprint = lower($1)
         RETURNING ${COLUMNS}
       ) SELECT * FROM upd`,
      [device, state],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** Every revoked device's signing key and when it was revoked (its NATS user key is revoked as of then). */
  async revokedKeys(): Promise<Array<{ signKey: string; revokedAt: Date }>> {
    const rows: Array<Record<string, unknown>> = await this.ds.query(`SELECT sign_key, coalesce(revoked_at, now()) AS revoked_at FROM devices WHERE state = 'revoked'`);
    return rows.map((r) => ({ signKey: r.sign_key as string, revokedAt: new Date(r.revoked_at as string) }));
  }
}
