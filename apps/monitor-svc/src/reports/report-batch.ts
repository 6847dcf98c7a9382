import type { ReportedModule, ReportLiveness, RevokedModule } from '@nco/cib';
import { decodeEnvelope, HostId, isNcoError, ReportBody, Subjects, subjectToken } from '@nco/events';

/**
 * The pure part of report handling: read one message into a report (or a refusal with a
 * specific reason), and turn a batch of reports into the rows the CIB's report rules take.
 * No I/O here, so every rule of the plan is unit-tested without servers.
 */

export type RefusalReason = 'oversized' | 'not_json' | 'invalid_message' | 'bad_subject' | 'host_mismatch';

export interface Report {
  hostId: number;
  issuedAt: Date;
  seq: number;
  /** Envelope id, for log lines. */
  id: string;
  body: ReportBody;
}

export type ReadResult =
  | { ok: true; report: Report }
  | { ok: false; reason: RefusalReason; detail: string; hostId?: number };

const report = Subjects.device.report;
/** `nco.dev.<hostId>.report`: the host id is the third token. */
const HOST_TOKEN = 2;

/** Decodes one report message; the host id comes from the subject and must match the envelope's. */
export function readReport(subject: string, data: Uint8Array): ReadResult {
  const token = subjectToken(subject, HOST_TOKEN) ?? '';
  const parsedId = HostId.safeParse(/^[1-9][0-9]{0,9}$/.test(token) ? Number(token) : NaN);
  if (!parsedId.success) {
    return { ok: false, reason: 'bad_subject', detail: `subject ${subject} does not name a host id` };
  }
  const hostId = parsedId.data;
  let env;
  try {
    env = decodeEnvelope(data, report.envelope, report.maxBytes);
  } catch (e) {
    if (!isNcoError(e)) throw e;
    const reason: RefusalReason =
      data.byteLength > report.maxBytes ? 'oversized' : e.message === 'message is not valid JSON' ? 'not_json' : 'invalid_message';
    return { ok: false, reason, detail: e.message, hostId };
  }
  if (env.hostId !== hostId) {
    const claimed = env.hostId === undefined ? 'no hostId' : `hostId ${env.hostId}`;
    return { ok: false, reason: 'host_mismatch', detail: `envelope carries ${claimed} but was sent on ${subject}`, hostId };
  }
  return { ok: true, report: { hostId, issuedAt: new Date(env.issuedAt), seq: env.body.seq, id: env.id, body: env.body } };
}

/**
 * One report per host: the latest by issuedAt (then seq, then arrival). An older report of
 * the same host in the batch says nothing the latest does not, so it is only counted.
 */
export function latestPerHost<R extends Report>(reports: R[]): { latest: R[]; superseded: number } {
  const byHost = new Map<number, R>();
  for (const r of reports) {
    const kept = byHost.get(r.hostId);
    if (!kept || isNewer(r, kept)) byHost.set(r.hostId, r);
  }
  const latest = [...byHost.values()].sort((a, b) => a.hostId - b.hostId);
  return { latest, superseded: reports.length - latest.length };
}

function isNewer(a: Report, b: Report): boolean {
  const dt = a.issuedAt.getTime() - b.issuedAt.getTime();
  return dt !== 0 ? dt > 0 : a.seq >= b.seq;
}

export function livenessOf(reports: Report[]): ReportLiveness[] {
  return reports.map((r) => ({ hostId: r.hostId, issuedAt: r.issuedAt }));
}

export interface ModuleLines {
  /** Hosts whose module lines are applied (their installed modules not listed become missing). */
  hostIds: number[];
  reported: ReportedModule[];
  revoked: RevokedModule[];
}

/**
 * Flattens reports (one per host) into module lines. Per module the core's latest word wins:
 * Installed and Deprecated entries of one id collapse to the newest (a tie goes to Deprecated,
 * the later state); a Revoked entry older than (or as old as) a live entry of the same id is
 * history the device has moved past (the module was loaded again), so it neither deletes the
 * deployment nor is recorded; repeated Revoked entries collapse by (id, ts).
 */
export function moduleLines(reports: Report[]): ModuleLines {
  const lines: ModuleLines = { hostIds: [], reported: [], revoked: [] };
  for (const r of reports) {
    const { hostId } = r;
    lines.hostIds.push(hostId);
    const live = new Map<number, ReportedModule>();
    const add = (deprecated: boolean) => (e: ReportBody['kernel']['Installed'][number]) => {
      const prev = live.get(e.ID);
      if (prev && (prev.ts > e.ts || (prev.ts === e.ts && prev.deprecated))) return;
      live.set(e.ID, { hostId, moduleId: e.ID, deprecated, activated: e.Activated, count: e.Count, ts: e.ts });
    };
    r.body.kernel.Installed.forEach(add(false));
    r.body.kernel.Deprecated.forEach(add(true));
    lines.reported.push(...live.values());
    const seen = new Set<string>();
    for (const v of r.body.kernel.Revoked) {
      const key = `${v.ID}/${v.ts}`;
      const current = live.get(v.ID);
      if (seen.has(key) || (current && current.ts >= v.ts)) continue;
      seen.add(key);
      lines.revoked.push({ hostId, moduleId: v.ID, ts: v.ts });
    }
  }
  return lines;
}
