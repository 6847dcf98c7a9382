import type { FindingRow, LivenessRow, ReportRepository, ReportRules } from '@nco/cib';
import pino from 'pino';
import type { MonitorEvents } from '../events/monitor-events';
import { ReconcileService } from './reconcile.service';
import { Report } from './report-batch';

const report = (hostId: number, issuedAt: string, installed: number[] = []): Report => ({
  hostId,
  issuedAt: new Date(issuedAt),
  seq: 1,
  id: `r${hostId}`,
  body: { seq: 1, reason: 'interval', kernel: { Installed: installed.map((ID) => ({ ID, Activated: 1, Count: 0, ts: 1 })), Deprecated: [], Revoked: [] } },
});

function setup(live: LivenessRow[], findings: Partial<Record<keyof ReportRules, FindingRow[]>> = {}) {
  const calls: Array<[string, unknown]> = [];
  const rules = {
    touchLiveness: async (a: unknown) => (calls.push(['touchLiveness', a]), live),
    applyRevoked: async (a: unknown) => (calls.push(['applyRevoked', a]), findings.applyRevoked ?? []),
    applyReported: async (a: unknown) => (calls.push(['applyReported', a]), findings.applyReported ?? []),
    flagMissing: async (h: unknown, r: unknown) => (calls.push(['flagMissing', [h, r]]), findings.flagMissing ?? []),
    progressInstalls: async (a: unknown) => (calls.push(['progressInstalls', a]), []),
  } as unknown as ReportRules;
  const repo = { transaction: (fn: (r: ReportRules) => Promise<unknown>) => fn(rules) } as unknown as ReportRepository;
  const announce = jest.fn(async () => undefined);
  const service = new ReconcileService(repo, { announce } as unknown as MonitorEvents, pino({ level: 'silent' }));
  return { service, calls, announce };
}

describe('ReconcileService', () => {
  it('applies the rules in order, module rules only for known hosts with a fresh report', async () => {
    const { service, calls } = setup([
      { hostId: 1, wasOnline: true, fresh: true },
      { hostId: 2, wasOnline: true, fresh: false },
    ]);
    const outcome = await service.reconcile([
      report(1, '2026-11-24T10:00:00Z', [5]),
      report(2, '2026-11-24T10:00:00Z', [6]),
      report(3, '2026-11-24T10:00:00Z', [7]),
    ]);
    expect(calls.map(([name]) => name)).toEqual(['touchLiveness', 'applyRevoked', 'applyReported', 'flagMissing', 'progressInstalls']);
    expect(calls[0][1]).toEqual([1, 2, 3].map((hostId) => ({ hostId, issuedAt: new Date('2026-11-24T10:00:00Z') })));
    expect(calls[2][1]).toEqual([expect.objectContaining({ hostId: 1, moduleId: 5 })]);
    expect(calls[3][1]).toEqual([[1], [expect.objectContaining({ hostId: 1, moduleId: 5 })]]);
    expect(outcome).toMatchObject({ applied: 1, stale: 1, superseded: 0, unknownHosts: [3] });
  });

  it('reconciles one report per host, the latest', async () => {
    const { service, calls } = setup([{ hostId: 1, wasOnline: true, fresh: true }]);
    const outcome = await service.reconcile([report(1, '2026-11-24T10:00:09Z', [9]), report(1, '2026-11-24T10:00:01Z', [1])]);
    expect(calls[0][1]).toEqual([{ hostId: 1, issuedAt: new Date('2026-11-24T10:00:09Z') }]);
    expect(calls[2][1]).toEqual([expect.objectContaining({ moduleId: 9 })]);
    expect(outcome.superseded).toBe(1);
  });

  it('announces the findings of every rule and the hosts that came online', async () => {
    const f = (kind: FindingRow['kind'], moduleId: number): FindingRow => ({ hostId: 1, moduleId, kind, moduleName: null });
    const { service, announce } = setup(
      [
        { hostId: 1, wasOnline: false, fresh: true },
        { hostId: 2, wasOnline: true, fresh: true },
      ],
      { applyRevoked: [f('revoked', 1)], applyReported: [f('unknown_module', 2)], flagMissing: [f('missing_module', 3)] },
    );
    await service.reconcile([report(1, '2026-11-24T10:00:00Z'), report(2, '2026-11-24T10:00:00Z')]);
    expect(announce).toHaveBeenCalledWith({
      findings: [f('revoked', 1), f('unknown_module', 2), f('missing_module', 3)],
      online: [1],
      operations: [],
    });
  });

  it('logs a host the CIB does not know once per window, however often it reports', async () => {
    const { service } = setup([]);
    const warn = jest.spyOn(service['log'], 'warn');
    await service.reconcile([report(7, '2026-11-24T10:00:00Z')]);
    await service.reconcile([report(7, '2026-11-24T10:00:05Z'), report(8, '2026-11-24T10:00:05Z')]);
    expect(warn.mock.calls.map(([obj]) => obj)).toEqual([{ hostId: 7 }, { hostId: 8 }]);
  });
});
