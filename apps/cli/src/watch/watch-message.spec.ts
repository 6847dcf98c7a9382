import { encode, makeEnvelope, Subjects } from '@nco/events';
import { decodeWatchMessage, formatWatchLine, subjectHostId, summarize } from './watch-message';

const at = new Date('2026-11-24T12:00:00.000Z');
const stored = new Date('2026-11-24T12:00:01.000Z');
const entry = (ID: number) => ({ ID, Activated: 1, Count: 2, ts: 1_700_000_000 });
const reportBody = { seq: 12, reason: 'interval' as const, kernel: { Installed: [entry(1), entry(2), entry(3)], Deprecated: [entry(4)], Revoked: [] } };

function report(hostId: number, body: unknown = reportBody, envHost = hostId) {
  return encode(makeEnvelope(Subjects.device.report.type, body, { hostId: envHost, issuedAt: at }));
}

describe('decodeWatchMessage', () => {
  it('summarises a report with its host from the envelope', () => {
    const item = decodeWatchMessage('reports', 7, 'nco.dev.42.report', report(42), stored);
    expect(item).toMatchObject({ ok: true, kind: 'report', hostId: 42, at, summary: '3 installed, 1 deprecated, 0 revoked, seq 12' });
  });

  it('names the reason of a report that is not an interval report', () => {
    const item = decodeWatchMessage('reports', 7, 'nco.dev.42.report', report(42, { ...reportBody, reason: 'checkin' }), stored);
    expect(item.ok && item.summary).toBe('3 installed, 1 deprecated, 0 revoked, seq 12 (checkin)');
  });

  it('summarises a finding with its kind and module', () => {
    const env = makeEnvelope(Subjects.evt.finding.type, { hostId: 9, moduleId: 17, kind: 'unknown_module', moduleName: null, at: at.toISOString() }, { issuedAt: at });
    const item = decodeWatchMessage('events', 1, Subjects.evt.finding.subject(), encode(env), stored);
    expect(item).toMatchObject({ ok: true, kind: 'reconcile.finding', hostId: 9, summary: 'unknown_module module 17' });
    const named = makeEnvelope(Subjects.evt.finding.type, { hostId: 9, moduleId: 3, kind: 'installed', moduleName: 'dns-tag', at: at.toISOString() });
    expect(summarize(named)).toBe('installed module 3 (dns-tag)');
  });

  it('summarises liveness, registration, changes, builds, operations and incidents', () => {
    expect(summarize(makeEnvelope('host.online', { hostId: 1, online: true, lastSeenAt: null }))).toBe('online');
    expect(summarize(makeEnvelope('host.offline', { hostId: 1, online: false, lastSeenAt: at.toISOString() }))).toMatch(/^offline, last seen /);
    expect(summarize(makeEnvelope('host.registered', { hostId: 1, mac: '02:00:00:00:00:01', release: '6.1.0', middleboxType: 'wireshark' }))).toBe(
      'mac 02:00:00:00:00:01, release 6.1.0, middlebox wireshark',
    );
    expect(summarize(makeEnvelope('host.changed', { hostId: 1, changes: { release: { from: 'a', to: 'b' } } }))).toBe('release: a -> b');
    expect(
      summarize(makeEnvelope('build.failed', { operationId: 'x', module: 'dns-tag', release: '6.1', flavor: 'f', hostCount: 1, compiled: false, durationMs: 5, error: 'boom' })),
    ).toBe('dns-tag for 1 host on 6.1 in 5 ms: boom');
    expect(
      summarize(
        makeEnvelope('operation.progress', { id: 'abcdef12-3456', kind: 'build', status: 'running', targetCount: 10, pending: 5, succeeded: 4, failed: 1 }),
      ),
    ).toBe('build running: 4/10 succeeded, 1 failed, 5 pending (operation abcdef12)');
    expect(summarize(makeEnvelope('dca.incident', { kind: 'refused_command', reason: 'bad signature' }))).toBe('refused_command: bad signature');
  });

  it('takes a device incident host id from its subject', () => {
    const env = makeEnvelope(Subjects.device.incident.type, { kind: 'refused_command', reason: 'replayed' });
    const item = decodeWatchMessage('events', 3, 'nco.dev.77.evt.incident', encode(env), stored);
    expect(item).toMatchObject({ ok: true, kind: 'dca.incident', hostId: 77 });
  });

  it('shows an event type it does not know with its body instead of refusing it', () => {
    const env = makeEnvelope('deploy.installed', { hostId: 5, moduleId: 2 });
    const item = decodeWatchMessage('events', 4, 'nco.evt.deploy.installed', encode(env), stored);
    expect(item).toMatchObject({ ok: true, kind: 'deploy.installed', hostId: 5, summary: '{"hostId":5,"moduleId":2}' });
  });

  it.each([
    ['not JSON', 'reports', 'nco.dev.5.report', new TextEncoder().encode('{oops'), /not valid JSON/],
    ['a report body missing its kernel', 'reports', 'nco.dev.5.report', report(5, { seq: 1, reason: 'interval' }), /invalid dca\.report body: body\.kernel/],
    ['a report for another host', 'reports', 'nco.dev.5.report', report(5, reportBody, 6), /hostId 6 does not match the subject's 5/],
    ['a known event with a bad body', 'events', 'nco.evt.host.online', encode(makeEnvelope('host.online', { hostId: 'x' })), /invalid host\.online body/],
    ['an envelope without id', 'events', 'nco.evt.x', encode({ v: 1, type: 'x', issuedAt: at.toISOString(), body: {} }), /invalid envelope: id/],
  ])('reports %s as malformed', (_what, stream, subject, data, reason) => {
    const item = decodeWatchMessage(stream as 'reports' | 'events', 9, subject as string, data as Uint8Array, stored);
    expect(item.ok).toBe(false);
    expect(!item.ok && item.reason).toMatch(reason as RegExp);
    expect(item.at).toEqual(stored);
    expect(formatWatchLine(item, stored)).toMatch(/ malformed: .* \(.+, NCO_(REPORTS|EVENTS) #9\)\n$/);
  });
});

describe('formatWatchLine', () => {
  it('prints time, kind, host and summary in columns', () => {
    const item = decodeWatchMessage('reports', 7, 'nco.dev.42.report', report(42), stored);
    const line = formatWatchLine(item, at);
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.000  report {12}  host 42 {8}  3 installed, 1 deprecated, 0 revoked, seq 12\n$/);
  });

  it('reads host ids only from device subjects', () => {
    expect(subjectHostId('nco.dev.12.report')).toBe(12);
    expect(subjectHostId('nco.dev.x.report')).toBeUndefined();
    expect(subjectHostId('nco.evt.host.online')).toBeUndefined();
  });
});
