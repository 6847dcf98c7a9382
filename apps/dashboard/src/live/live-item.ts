import { decodeEnvelope, EnvelopeHeaderSchema, EventContract, peekHeader, Subjects, subjectToken } from '@nco/events';
import { z } from 'zod';

export type LiveStream = 'reports' | 'events';

/** A module as a device's report lists it (the kernel core's fields, renamed for the page). */
export interface ReportedModule {
  id: number;
  active: number;
  sockets: number;
  deprecated: boolean;
}

/** One stream message, validated and reduced to what the page shows. */
export interface LiveItem {
  stream: LiveStream;
  seq: number;
  /** `report`, or the event type: host.online, reconcile.finding, operation.progress, ... */
  kind: string;
  hostId?: number;
  operationId?: string;
  at: string;
  summary: string;
  /** Errors (findings about missing or unknown modules, failed builds, device incidents) are flagged for the error panel. */
  error?: boolean;
  /** Reports: the modules the device listed. */
  modules?: ReportedModule[];
  revoked?: number;
  /** Events: the validated body. */
  body?: unknown;
}

const MAX_BYTES = 1024 * 1024;
const AnyEnvelope = EnvelopeHeaderSchema.extend({ body: z.unknown() });
const eventContracts = new Map<string, EventContract<any, z.ZodType>>(
  [...Object.values(Subjects.evt), Subjects.device.incident].map((c) => [c.type, c as EventContract<any, z.ZodType>]),
);
const ERROR_FINDINGS = new Set(['missing_module', 'unknown_module', 'revoked']);
/** security-svc's event for a module that failed its challenge (its revoke follows). */
const CHALLENGE_FAILED = 'security.challenge.failed';

function subjectHostId(subject: string): number | undefined {
  if (!subject.startsWith('nco.dev.')) return undefined;
  const n = Number(subjectToken(subject, 2));
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/**
 * Decodes a message of NCO_REPORTS or NCO_EVENTS against its contract. Returns the reason
 * instead when it is malformed (not JSON, a wrong envelope or body, a report whose envelope
 * names another host than its subject): the relay counts and drops it, the page never sees it.
 * An event type this dashboard does not know is kept with its body, so a newer NCO still shows.
 */
export function decodeLiveItem(stream: LiveStream, seq: number, subject: string, data: Uint8Array): LiveItem | { malformed: string } {
  const fromSubject = subjectHostId(subject);
  try {
    if (stream === 'reports') {
      const env = decodeEnvelope(data, Subjects.device.report.envelope, Subjects.device.report.maxBytes);
      if (fromSubject !== undefined && env.hostId !== undefined && env.hostId !== fromSubject) {
        return { malformed: `envelope hostId ${env.hostId} does not match the subject's ${fromSubject}` };
      }
      const k = env.body.kernel;
      const modules: ReportedModule[] = [
        ...k.Installed.map((m) => ({ id: m.ID, active: m.Activated, sockets: m.Count, deprecated: false })),
        ...k.Deprecated.map((m) => ({ id: m.ID, active: m.Activated, sockets: m.Count, deprecated: true })),
      ];
      const why = env.body.reason !== 'interval' ? ` (${env.body.reason})` : '';
      return {
        stream,
        seq,
        kind: 'report',
        hostId: env.hostId ?? fromSubject,
        at: env.issuedAt,
        summary: `${k.Installed.length} installed, ${k.Deprecated.length} deprecated, ${k.Revoked.length} revoked, ${modules.reduce((n, m) => n + m.sockets, 0)} sockets${why}`,
        modules,
        revoked: k.Revoked.length,
      };
    }
    const type = peekHeader(data).type;
    const contract = typeof type === 'string' ? eventContracts.get(type) : undefined;
    const env = contract ? decodeEnvelope(data, contract.envelope, contract.maxBytes) : decodeEnvelope(data, AnyEnvelope, MAX_BYTES);
    const body = env.body as Record<string, any>;
    const hostId = env.hostId ?? (typeof body?.hostId === 'number' ? body.hostId : undefined) ?? fromSubject;
    return {
      stream,
      seq,
      kind: env.type,
      hostId,
      operationId: env.operationId ?? (env.type === Subjects.evt.operationProgress.type ? body.id : undefined),
      at: env.issuedAt,
      summary: summarize(env.type, body),
      error: isError(env.type, body),
      // pending.work is an internal trigger that may list 100,000 hosts: its summary is enough.
      body: env.type === Subjects.evt.pendingWork.type ? undefined : env.body,
    };
  } catch (e) {
    return { malformed: (e as Error).message };
  }
}

function isError(type: string, b: Record<string, any>): boolean {
  switch (type) {
    case Subjects.evt.finding.type:
      return ERROR_FINDINGS.has(b.kind);
    case Subjects.evt.buildFailed.type:
    case Subjects.device.incident.type:
    case CHALLENGE_FAILED:
      return true;
    case Subjects.evt.operationProgress.type:
      return b.status === 'failed' || b.status === 'partially_failed';
    default:
      return false;
  }
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** A short line per known event type (the same wording as `nco watch`). */
export function summarize(type: string, b: Record<string, any>): string {
  switch (type) {
    case Subjects.evt.finding.type:
      return `${b.kind} module ${b.moduleId}${b.moduleName ? ` (${b.moduleName})` : ''}`;
    case Subjects.evt.hostOnline.type:
      return 'online';
    case Subjects.evt.hostOffline.type:
      return `offline${b.lastSeenAt ? `, last seen ${b.lastSeenAt}` : ''}`;
    case Subjects.evt.hostRegistered.type:
      return `registered: mac ${b.mac}, release ${b.release}${b.middleboxType ? `, middlebox ${b.middleboxType}` : ''}`;
    case Subjects.evt.hostChanged.type:
      return Object.entries((b.changes ?? {}) as Record<string, { from: unknown; to: unknown }>)
        .map(([k, c]) => `${k}: ${String(c.from)} -> ${String(c.to)}`)
        .join(', ');
    case Subjects.evt.buildSucceeded.type:
    case Subjects.evt.buildFailed.type:
      return `${b.module} for ${plural(b.hostCount, 'host')} on ${b.release}${b.compiled ? ', compiled' : ''} in ${b.durationMs} ms${b.error ? `: ${String(b.error).slice(0, 300)}` : ''}`;
    case Subjects.evt.operationProgress.type:
      return `${b.kind} ${b.status}: ${b.succeeded}/${b.targetCount} succeeded, ${b.failed} failed, ${b.pending} pending`;
    case Subjects.evt.pendingWork.type:
      return `pending work: ${(b.kinds ?? []).join(', ')}${b.hostIds ? ` for ${plural(b.hostIds.length, 'host')}` : ''}`;
    case Subjects.device.incident.type:
      return `${b.kind}: ${b.reason}`;
    case CHALLENGE_FAILED:
      return `module ${b.moduleId}${b.moduleName ? ` (${b.moduleName})` : ''} failed its challenge (${b.failure}): ${b.reason}; revoking`;
    default: {
      const text = JSON.stringify(b) ?? '';
      return text.length > 160 ? `${text.slice(0, 157)}...` : text;
    }
  }
}
