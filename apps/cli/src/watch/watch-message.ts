import { z } from 'zod';
import {
  decodeEnvelope,
  Envelope,
  EnvelopeHeaderSchema,
  EventContract,
  isNcoError,
  peekHeader,
  Streams,
  Subjects,
  subjectToken,
} from '@nco/events';
import { formatClock } from '../output/time';

export type WatchStream = 'reports' | 'events';

/** One message of NCO_REPORTS or NCO_EVENTS, checked against its contract. */
export type WatchItem =
  | { ok: true; stream: WatchStream; seq: number; subject: string; at: Date; kind: string; hostId?: number; summary: string; env: Envelope<unknown> }
  | { ok: false; stream: WatchStream; seq: number; subject: string; at: Date; hostId?: number; reason: string };

const MAX_BYTES = 1024 * 1024;
const AnyEnvelope = EnvelopeHeaderSchema.extend({ body: z.unknown() });

/** Every event contract that can land in NCO_EVENTS, by type; new ones in `Subjects.evt` are picked up. */
const eventContracts = new Map<string, EventContract<any, z.ZodType>>(
  [...Object.values(Subjects.evt), Subjects.device.incident].map((c) => [c.type, c as EventContract<any, z.ZodType>]),
);

/** Host id from `nco.dev.<hostId>.…`, if the subject is a device subject. */
export function subjectHostId(subject: string): number | undefined {
  if (!subject.startsWith('nco.dev.')) return undefined;
  const n = Number(subjectToken(subject, 2));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

function bodyHostId(body: unknown): number | undefined {
  const id = (body as { hostId?: unknown } | null)?.hostId;
  return typeof id === 'number' ? id : undefined;
}

/**
 * Decodes a stream message. A malformed message (not JSON, wrong envelope or body, a report whose
 * envelope names another host than its subject) comes back as `ok: false` with the reason; an
 * event type this CLI does not know is shown with its body, not refused, so an older `nco` still
 * watches a newer system.
 */
export function decodeWatchMessage(stream: WatchStream, seq: number, subject: string, data: Uint8Array, storedAt: Date): WatchItem {
  const base = { stream, seq, subject };
  const fromSubject = subjectHostId(subject);
  try {
    let env: Envelope<unknown>;
    if (stream === 'reports') {
      env = decodeEnvelope(data, Subjects.device.report.envelope, Subjects.device.report.maxBytes) as Envelope<unknown>;
      if (fromSubject !== undefined && env.hostId !== undefined && env.hostId !== fromSubject) {
        throw new Error(`envelope hostId ${env.hostId} does not match the subject's ${fromSubject}`);
      }
    } else {
      const type = peekHeader(data).type;
      const contract = typeof type === 'string' ? eventContracts.get(type) : undefined;
      env = (contract ? decodeEnvelope(data, contract.envelope, contract.maxBytes) : decodeEnvelope(data, AnyEnvelope, MAX_BYTES)) as Envelope<unknown>;
    }
    const at = new Date(env.issuedAt);
    return {
      ok: true,
      ...base,
      at: Number.isNaN(at.getTime()) ? storedAt : at,
      kind: kindOf(env.type),
      hostId: env.hostId ?? bodyHostId(env.body) ?? fromSubject,
      summary: summarize(env),
      env,
    };
  } catch (e) {
    const header = peekHeader(data);
    const reason = isNcoError(e) || e instanceof Error ? e.message : String(e);
    return { ok: false, ...base, at: storedAt, hostId: fromSubject ?? (typeof header.hostId === 'number' ? header.hostId : undefined), reason };
  }
}

/** `report` for device reports, the envelope type (`host.online`, `reconcile.finding`, …) otherwise. */
export function kindOf(type: string): string {
  return type === Subjects.device.report.type ? 'report' : type;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** A short human summary of a message body, one per known type. */
export function summarize(env: Envelope<unknown>): string {
  const b = env.body as Record<string, any>;
  switch (env.type) {
    case Subjects.device.report.type: {
      const k = b.kernel;
      const why = b.reason && b.reason !== 'interval' ? ` (${b.reason})` : '';
      return `${k.Installed.length} installed, ${k.Deprecated.length} deprecated, ${k.Revoked.length} revoked, seq ${b.seq}${why}`;
    }
    case Subjects.evt.finding.type:
      return `${b.kind} module ${b.moduleId}${b.moduleName ? ` (${b.moduleName})` : ''}`;
    case Subjects.evt.hostOnline.type:
    case Subjects.evt.hostOffline.type:
      return `${b.online ? 'online' : 'offline'}${b.lastSeenAt ? `, last seen ${formatClock(new Date(b.lastSeenAt))}` : ''}`;
    case Subjects.evt.hostRegistered.type:
      return `mac ${b.mac}, release ${b.release}${b.middleboxType ? `, middlebox ${b.middleboxType}` : ''}`;
    case Subjects.evt.hostChanged.type:
      return Object.entries(b.changes as Record<string, { from: unknown; to: unknown }>)
        .map(([k, c]) => `${k}: ${String(c.from)} -> ${String(c.to)}`)
        .join(', ');
    case Subjects.evt.buildSucceeded.type:
    case Subjects.evt.buildFailed.type:
      return `${b.module} for ${plural(b.hostCount, 'host')} on ${b.release}${b.compiled ? ', compiled' : ''} in ${b.durationMs} ms${b.error ? `: ${b.error}` : ''}`;
    case Subjects.evt.operationProgress.type:
      return `${b.kind} ${b.status}: ${b.succeeded}/${b.targetCount} succeeded, ${b.failed} failed, ${b.pending} pending (operation ${String(b.id).slice(0, 8)})`;
    case Subjects.device.incident.type:
      return `${b.kind}: ${b.reason}`;
    default: {
      const text = JSON.stringify(env.body) ?? '';
      return text.length > 120 ? `${text.slice(0, 117)}...` : text;
    }
  }
}

/** One line for a person: time, kind, host, summary (or `malformed: <reason>`). */
export function formatWatchLine(item: WatchItem, now: Date = new Date()): string {
  const host = item.hostId !== undefined ? `host ${item.hostId}` : '-';
  if (!item.ok) {
    return `${formatClock(item.at, now)}  malformed: ${item.reason} (${item.subject}, ${streamName(item.stream)} #${item.seq})\n`;
  }
  return `${formatClock(item.at, now)}  ${item.kind.padEnd(18)}  ${host.padEnd(15)}  ${item.summary}\n`;
}

export function streamName(stream: WatchStream): string {
  return stream === 'reports' ? Streams.reports.name : Streams.events.name;
}
