import { encode, makeEnvelope, Subjects } from '@nco/events';
import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { decodeLiveItem, LiveItem } from './live-item';
import { LiveState } from './live-state';
import { SseHub } from './sse-hub';

const entry = (ID: number, Count = 0) => ({ ID, Activated: 1, Count, ts: 1_700_000_000 });
const report = (hostId: number, envHost = hostId) =>
  encode(makeEnvelope(Subjects.device.report.type, { seq: 3, reason: 'interval', kernel: { Installed: [entry(1, 5), entry(2, 1)], Deprecated: [entry(3)], Revoked: [] } }, { hostId: envHost }));
const event = (type: string, body: unknown) => encode(makeEnvelope(type, body));
const finding = (hostId: number, kind: string) => event(Subjects.evt.finding.type, { hostId, moduleId: 7, kind, moduleName: 'dns-tag', at: new Date().toISOString() });
const ok = (x: ReturnType<typeof decodeLiveItem>) => {
  if ('malformed' in x) throw new Error(x.malformed);
  return x;
};

describe('decodeLiveItem', () => {
  it('reduces a report to its modules, socket counts and a summary', () => {
    const item = ok(decodeLiveItem('reports', 5, 'nco.dev.42.report', report(42)));
    expect(item).toMatchObject({ kind: 'report', hostId: 42, revoked: 0, summary: '2 installed, 1 deprecated, 0 revoked, 6 sockets' });
    expect(item.modules).toEqual([
      { id: 1, active: 1, sockets: 5, deprecated: false },
      { id: 2, active: 1, sockets: 1, deprecated: false },
      { id: 3, active: 1, sockets: 0, deprecated: true },
    ]);
  });

  it('flags errors: missing and unknown modules, failed builds, incidents, failed operations', () => {
    expect(ok(decodeLiveItem('events', 1, 'nco.evt.reconcile.finding', finding(3, 'missing_module'))).error).toBe(true);
    expect(ok(decodeLiveItem('events', 1, 'nco.evt.reconcile.finding', finding(3, 'installed'))).error).toBe(false);
    const incident = ok(decodeLiveItem('events', 2, 'nco.dev.9.evt.incident', event(Subjects.device.incident.type, { kind: 'refused_command', reason: 'replayed' })));
    expect(incident).toMatchObject({ hostId: 9, error: true, summary: 'refused_command: replayed' });
    const challenge = ok(decodeLiveItem('events', 3, 'nco.evt.security.challenge.failed', event('security.challenge.failed', {
      hostId: 4, moduleId: 2, moduleName: 'dns-tag', failure: 'wrong_answer', reason: 'prefix mismatch', operationId: '00000000-0000-4000-8000-000000000000',
    })));
    expect(challenge).toMatchObject({ hostId: 4, error: true, summary: 'module 2 (dns-tag) failed its challenge (wrong_answer): prefix mismatch; revoking' });
  });

  it('keeps an event type it does not know, and drops the hosts of pending.work', () => {
    expect(ok(decodeLiveItem('events', 1, 'nco.evt.x.y', event('x.y', { a: 1 })))).toMatchObject({ kind: 'x.y', summary: '{"a":1}', body: { a: 1 } });
    const work = ok(decodeLiveItem('events', 1, 'nco.evt.pending.work', event(Subjects.evt.pendingWork.type, { kinds: ['install'], hostIds: [1, 2] })));
    expect(work).toMatchObject({ summary: 'pending work: install for 2 hosts', body: undefined });
  });

  it.each([
    ['not JSON', 'reports', 'nco.dev.1.report', new TextEncoder().encode('{x'), /JSON/],
    ['a report about another host', 'reports', 'nco.dev.1.report', report(1, 2), /does not match the subject/],
    ['a known event with a bad body', 'events', 'nco.evt.host.online', event('host.online', { hostId: 'x' }), /host\.online/],
  ])('returns the reason for %s', (_what, stream, subject, data, reason) => {
    const r = decodeLiveItem(stream as 'reports', 1, subject as string, data as Uint8Array);
    expect('malformed' in r && r.malformed).toMatch(reason as RegExp);
  });
});

describe('LiveState', () => {
  const item = (x: Partial<LiveItem>): LiveItem => ({ stream: 'events', seq: 1, kind: 'host.online', at: new Date().toISOString(), summary: '', ...x });

  it('counts reports, confirmed installs and errors per bucket, and fills empty buckets with zeros', () => {
    const s = new LiveState({ bucketMs: 1000, buckets: 5, recent: 10, errors: 10 });
    const t = 1_000_000_000_000;
    s.add(item({ stream: 'reports', kind: 'report', hostId: 1, modules: [] }), t + 100);
    s.add(item({ stream: 'reports', kind: 'report', hostId: 2, modules: [] }), t + 900);
    s.add(item({ kind: 'reconcile.finding', body: { kind: 'installed' } }), t + 2000);
    s.add(item({ kind: 'reconcile.finding', body: { kind: 'missing_module' }, error: true, hostId: 4 }), t + 2500);
    expect(s.seriesUntil(t + 3000)).toEqual([
      { t: t - 1000, reports: 0, installed: 0, errors: 0 },
      { t, reports: 2, installed: 0, errors: 0 },
      { t: t + 1000, reports: 0, installed: 0, errors: 0 },
      { t: t + 2000, reports: 0, installed: 1, errors: 1 },
      { t: t + 3000, reports: 0, installed: 0, errors: 0 },
    ]);
    expect(s.recentErrors(4)).toHaveLength(1);
    expect(s.recentErrors(5)).toHaveLength(0);
    expect(s.lastReport(2)).toMatchObject({ modules: [] });
    // Reports are not kept among the recent events (one per host is in lastReport).
    expect(s.recentItems().map((i) => i.kind)).toEqual(['reconcile.finding', 'reconcile.finding']);
  });

  it('drops buckets older than its span and bounds its lists', () => {
    const s = new LiveState({ bucketMs: 1000, buckets: 3, recent: 2, errors: 1 });
    for (let i = 0; i < 10; i++) s.add(item({ seq: i, error: true }), i * 1000);
    expect(s.seriesUntil(9000).map((p) => p.errors)).toEqual([1, 1, 1]);
    expect(s.seriesUntil(9000, 10).filter((p) => p.errors).length).toBe(3);
    expect(s.recentItems().map((i) => i.seq)).toEqual([8, 9]);
    expect(s.recentErrors().map((i) => i.seq)).toEqual([9]);
  });

  it('remembers operations from their progress events', () => {
    const s = new LiveState({ bucketMs: 1000, buckets: 3, recent: 2, errors: 1 });
    s.add(item({ kind: 'operation.progress', body: { id: 'op-1', status: 'running' } }), 0);
    s.add(item({ kind: 'operation.progress', body: { id: 'op-1', status: 'succeeded' } }), 0);
    expect(s.knownOperations()).toEqual([{ id: 'op-1', status: 'succeeded' }]);
  });
});

class FakeResponse extends EventEmitter {
  chunks: string[] = [];
  writableLength = 0;
  ended = false;
  writeHead() {
    return this;
  }
  write(chunk: string) {
    this.chunks.push(chunk);
    return true;
  }
  end() {
    this.ended = true;
  }
  destroy() {
    this.ended = true;
  }
  frames(event: string) {
    return this.chunks.filter((c) => c.startsWith(`event: ${event}\n`)).map((c) => JSON.parse(c.split('data: ')[1]));
  }
}

describe('SseHub', () => {
  const report = (hostId: number, seq: number): LiveItem => ({ stream: 'reports', seq, kind: 'report', hostId, at: '', summary: `r${seq}` });
  const ev = (seq: number): LiveItem => ({ stream: 'events', seq, kind: 'host.online', at: '', summary: '' });
  const hub = () => new SseHub({ pushMs: 1000, maxReports: 2, maxEvents: 10 }, () => []);

  it('writes the snapshot first, then what arrived meanwhile, then batches', () => {
    const h = hub();
    const res = new FakeResponse();
    const ready = h.open(res as unknown as ServerResponse, () => undefined);
    h.push(ev(1));
    h.flush();
    expect(res.frames('batch')).toEqual([]);
    ready({ hello: 1 });
    const order = res.chunks.filter((c) => c.startsWith('event:')).map((c) => c.split('\n')[0]);
    expect(order).toEqual(['event: snapshot', 'event: batch']);
    expect(res.frames('batch')[0].items.map((i: LiveItem) => i.seq)).toEqual([1]);
  });

  it('sends every event but only the newest report per host, at most maxReports, counting all', () => {
    const h = hub();
    const res = new FakeResponse();
    h.open(res as unknown as ServerResponse, () => undefined)({});
    for (const [host, seq] of [[1, 1], [2, 2], [1, 3], [3, 4]]) h.push(report(host, seq));
    h.push(ev(9));
    h.flush();
    const [batch] = res.frames('batch');
    expect(batch.reports).toBe(4);
    expect(batch.items.map((i: LiveItem) => i.seq)).toEqual([9, 3, 4]);
    h.flush();
    expect(res.frames('batch')).toHaveLength(1);
  });

  it('forgets a page when it closes, drops one that stopped reading, and ends all at close', () => {
    const h = hub();
    const a = new FakeResponse();
    const b = new FakeResponse();
    let closed = 0;
    h.open(a as unknown as ServerResponse, () => closed++)({});
    h.open(b as unknown as ServerResponse, () => closed++)({});
    expect(h.size).toBe(2);
    a.emit('close');
    expect(closed).toBe(1);
    expect(h.size).toBe(1);
    b.writableLength = 64 * 1024 * 1024;
    h.push(ev(1));
    h.flush();
    expect(b.ended).toBe(true);
    const c = new FakeResponse();
    h.open(c as unknown as ServerResponse, () => undefined)({});
    h.close();
    expect(c.ended).toBe(true);
  });
});
