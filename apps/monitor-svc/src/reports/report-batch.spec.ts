import { encode, makeEnvelope, ReportBody, Subjects } from '@nco/events';
import { latestPerHost, moduleLines, readReport, Report } from './report-batch';

const kernel = (k: Partial<ReportBody['kernel']> = {}): ReportBody['kernel'] => ({ Installed: [], Deprecated: [], Revoked: [], ...k });
const body = (k: Partial<ReportBody['kernel']> = {}, seq = 1): ReportBody => ({ seq, reason: 'interval', kernel: kernel(k) });
const mod = (ID: number, ts = 100, Count = 1, Activated = 1) => ({ ID, Activated, Count, ts });

function envelope(hostId: number | undefined, b: unknown = body(), issuedAt = new Date('2026-11-24T10:00:00Z')) {
  return makeEnvelope(Subjects.device.report.type, b, { hostId, issuedAt });
}

function report(hostId: number, issuedAt: string, k: Partial<ReportBody['kernel']> = {}, seq = 1): Report {
  return { hostId, issuedAt: new Date(issuedAt), seq, id: `${hostId}-${seq}`, body: body(k, seq) };
}

function refusal(subject: string, data: Uint8Array) {
  const r = readReport(subject, data);
  if (r.ok) throw new Error('expected a refusal');
  return r;
}

describe('readReport', () => {
  it('accepts a report whose envelope names the host of its subject', () => {
    const r = readReport('nco.dev.42.report', encode(envelope(42, body({ Installed: [mod(7)] }, 3))));
    expect(r).toEqual({
      ok: true,
      report: expect.objectContaining({ hostId: 42, seq: 3, issuedAt: new Date('2026-11-24T10:00:00Z') }),
    });
  });

  it('refuses a report whose envelope names another host', () => {
    const r = refusal('nco.dev.42.report', encode(envelope(43)));
    expect(r).toMatchObject({ reason: 'host_mismatch', hostId: 42 });
    expect(r.detail).toBe('envelope carries hostId 43 but was sent on nco.dev.42.report');
  });

  it('refuses a report whose envelope names no host', () => {
    expect(refusal('nco.dev.42.report', encode(envelope(undefined)))).toMatchObject({
      reason: 'host_mismatch',
      detail: 'envelope carries no hostId but was sent on nco.dev.42.report',
    });
  });

  it.each(['nco.dev.abc.report', 'nco.dev.0.report', 'nco.dev.007.report', 'nco.dev.99999999999.report', 'nco.dev.report'])(
    'refuses the subject %s, which does not name a host id',
    (subject) => {
      expect(refusal(subject, encode(envelope(7))).reason).toBe('bad_subject');
    },
  );

  it('refuses what is not JSON', () => {
    expect(refusal('nco.dev.5.report', new TextEncoder().encode('{"v":1'))).toMatchObject({ reason: 'not_json', hostId: 5 });
  });

  it('refuses an oversized report before parsing it', () => {
    const r = refusal('nco.dev.5.report', new Uint8Array(Subjects.device.report.maxBytes + 1));
    expect(r.reason).toBe('oversized');
    expect(r.detail).toMatch(/limit is 524288/);
  });

  it('names the field of a report with wrong types', () => {
    const env = envelope(5, body({ Installed: [{ ...mod(1), Count: 'many' as unknown as number }] }));
    const r = refusal('nco.dev.5.report', encode(env));
    expect(r.reason).toBe('invalid_message');
    expect(r.detail).toMatch(/body\.kernel\.Installed\.0\.Count/);
  });

  it('names a missing field', () => {
    const b = body() as Partial<ReportBody>;
    delete b.kernel;
    expect(refusal('nco.dev.5.report', encode(envelope(5, b))).detail).toMatch(/body\.kernel/);
  });
});

describe('latestPerHost', () => {
  it('keeps the latest report of each host by issuedAt and counts the others', () => {
    const { latest, superseded } = latestPerHost([
      report(2, '2026-11-24T10:00:02Z', {}, 9),
      report(1, '2026-11-24T10:00:05Z', {}, 1),
      report(2, '2026-11-24T10:00:03Z', {}, 4),
      report(2, '2026-11-24T10:00:01Z', {}, 12),
    ]);
    expect(latest.map((r) => [r.hostId, r.seq])).toEqual([
      [1, 1],
      [2, 4],
    ]);
    expect(superseded).toBe(2);
  });

  it('breaks an issuedAt tie by seq, then by arrival', () => {
    const at = '2026-11-24T10:00:00Z';
    expect(latestPerHost([report(1, at, {}, 5), report(1, at, {}, 3)]).latest[0].seq).toBe(5);
    const [a, b] = [report(1, at, {}, 5), report(1, at, {}, 5)];
    expect(latestPerHost([a, b]).latest[0]).toBe(b);
  });
});

describe('moduleLines', () => {
  it('flattens Installed and Deprecated entries of every host', () => {
    const lines = moduleLines([
      report(1, '2026-11-24T10:00:00Z', { Installed: [mod(10, 100, 3, 1)], Deprecated: [mod(11, 90, 2, 0)] }),
      report(2, '2026-11-24T10:00:00Z', { Installed: [mod(10, 50)] }),
      report(3, '2026-11-24T10:00:00Z'),
    ]);
    expect(lines.hostIds).toEqual([1, 2, 3]);
    expect(lines.reported).toEqual([
      { hostId: 1, moduleId: 10, deprecated: false, activated: 1, count: 3, ts: 100 },
      { hostId: 1, moduleId: 11, deprecated: true, activated: 0, count: 2, ts: 90 },
      { hostId: 2, moduleId: 10, deprecated: false, activated: 1, count: 1, ts: 50 },
    ]);
    expect(lines.revoked).toEqual([]);
  });

  it('keeps one line per module: the newest entry, Deprecated on a tie', () => {
    const lines = moduleLines([
      report(1, '2026-11-24T10:00:00Z', {
        Installed: [mod(10, 100), mod(11, 200), mod(12, 100, 5)],
        Deprecated: [mod(10, 150), mod(11, 100), mod(12, 100, 6)],
      }),
    ]);
    expect(lines.reported.map((l) => [l.moduleId, l.deprecated, l.ts, l.count])).toEqual([
      [10, true, 150, 1],
      [11, false, 200, 1],
      [12, true, 100, 6],
    ]);
  });

  it('drops a revocation that a live entry of the same module outdates, and repeats of one revocation', () => {
    const lines = moduleLines([
      report(1, '2026-11-24T10:00:00Z', {
        Installed: [mod(10, 200)],
        Revoked: [
          { ID: 10, ts: 150 },
          { ID: 11, ts: 120 },
          { ID: 11, ts: 120 },
          { ID: 11, ts: 130 },
        ],
      }),
    ]);
    expect(lines.revoked).toEqual([
      { hostId: 1, moduleId: 11, ts: 120 },
      { hostId: 1, moduleId: 11, ts: 130 },
    ]);
  });

  it('keeps a revocation newer than a live entry (a revoked module still loaded is flagged)', () => {
    const lines = moduleLines([report(1, '2026-11-24T10:00:00Z', { Installed: [mod(10, 100)], Revoked: [{ ID: 10, ts: 150 }] })]);
    expect(lines.revoked).toEqual([{ hostId: 1, moduleId: 10, ts: 150 }]);
    expect(lines.reported).toHaveLength(1);
  });
});
