import type { ClaimedWork } from '@nco/cib';
import { NatsBus, NcoError, Subjects } from '@nco/events';
import { CommandDelivery, commandBody } from './command.delivery';
import { Semaphore } from './outcome';

const row = (over: Partial<ClaimedWork>): ClaimedWork => ({
  pendingId: 'p', hostId: 9, moduleId: 12, kind: 'toggle', args: {}, operationId: '3f1c2f9e-6a55-4a2d-9a0b-1c1b1d1e1f10', attempts: 1, ...over,
});

describe('commandBody', () => {
  it('builds each command from the row: module id plus mode or priority', () => {
    expect(commandBody(row({ kind: 'toggle', args: { mode: 0, module: 'dns-tag' } }))).toEqual({ body: { moduleId: 12, mode: 0 } });
    expect(commandBody(row({ kind: 'priority', args: { priority: 300 } }))).toEqual({ body: { moduleId: 12, priority: 300 } });
    expect(commandBody(row({ kind: 'deprecate', args: { reason: 'rotate' } }))).toEqual({ body: { moduleId: 12 } });
    expect(commandBody(row({ kind: 'revoke', args: { reason: 'x' } }))).toEqual({ body: { moduleId: 12 } });
  });

  it('refuses a row whose args do not make a valid command, naming the field', () => {
    expect(commandBody(row({ kind: 'toggle', args: { mode: 2 } }))).toEqual({ error: expect.stringMatching(/toggle is not a valid command: mode/) });
    expect(commandBody(row({ kind: 'priority', args: {} }))).toEqual({ error: expect.stringMatching(/priority/) });
    expect(commandBody(row({ kind: 'install' }))).toEqual({ error: 'not a device command: install' });
  });
});

describe('CommandDelivery', () => {
  it('sends each row to its host with the operation id and classifies the answers', async () => {
    const calls: unknown[][] = [];
    const bus = {
      request: jest.fn(async (...args: unknown[]) => {
        calls.push(args);
        const hostId = (args[1] as { hostId: number }).hostId;
        if (hostId === 1) return { ID: 12, Result: 1 };
        if (hostId === 2) return { ID: 12, Result: 0 };
        if (hostId === 3) throw new NcoError('invalid_request', 'module 12 is not loaded');
        throw new NcoError('timeout', 'no answer on nco.dev.4.cmd.toggle in time');
      }),
    } as unknown as NatsBus;
    const d = new CommandDelivery(['toggle'], () => bus, 1234);
    const rows = [1, 2, 3, 4].map((hostId) => row({ pendingId: `p${hostId}`, hostId, args: { mode: 1 } }));
    const out = await d.deliver(rows, new Semaphore(2));
    expect(out.map((o) => o.result)).toEqual(['done', 'refused', 'refused', 'transient']);
    expect(out[2]).toMatchObject({ reason: 'module 12 is not loaded' });
    expect(calls[0]).toEqual([Subjects.device.toggle, { hostId: 1 }, { moduleId: 12, mode: 1 }, { hostId: 1, operationId: rows[0].operationId, timeoutMs: 1234 }]);
  });

  it('refuses an invalid row without sending it', async () => {
    const bus = { request: jest.fn() } as unknown as NatsBus;
    const out = await new CommandDelivery(['priority'], () => bus, 1000).deliver([row({ kind: 'priority', args: { priority: 0 } })], new Semaphore(1));
    expect(out[0]).toMatchObject({ result: 'refused', cause: 'invalid' });
    expect(bus.request).not.toHaveBeenCalled();
  });
});
