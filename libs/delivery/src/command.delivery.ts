import type { ClaimedWork, CommandKind } from '@nco/cib';
import { describeIssues, NatsBus, Subjects } from '@nco/events';
import { Delivery } from './dispatcher';
import { fromError, fromReply, Semaphore, WorkOutcome } from './outcome';

const CONTRACTS = {
  toggle: Subjects.device.toggle,
  priority: Subjects.device.priority,
  deprecate: Subjects.device.deprecate,
  revoke: Subjects.device.revoke,
} as const;

/**
 * The device body of a pending command, from its row: the module id, plus the mode or priority
 * the operator asked for (kept in the row's args). A row whose args do not make a valid command
 * (written by hand, or by an older version) is refused rather than sent.
 */
export function commandBody(row: ClaimedWork): { body: Record<string, unknown> } | { error: string } {
  const kind = row.kind as CommandKind;
  const contract = CONTRACTS[kind];
  if (!contract) return { error: `not a device command: ${row.kind}` };
  const body: Record<string, unknown> = { moduleId: row.moduleId };
  if (kind === 'toggle') body.mode = row.args.mode;
  if (kind === 'priority') body.priority = row.args.priority;
  const parsed = contract.body.safeParse(body);
  if (!parsed.success) return { error: `the pending ${kind} is not a valid command: ${describeIssues(parsed.error)}` };
  return { body: parsed.data as Record<string, unknown> };
}

/** toggle / priority / deprecate / revoke: one request per host, answered `{ID, Result}` or with the device's error text. */
export class CommandDelivery implements Delivery {
  constructor(
    readonly kinds: readonly CommandKind[],
    private readonly bus: () => NatsBus,
    private readonly timeoutMs: number,
  ) {}

  deliver(rows: ClaimedWork[], slots: Semaphore): Promise<WorkOutcome[]> {
    return Promise.all(rows.map((row) => slots.run(() => this.send(row))));
  }

  private async send(row: ClaimedWork): Promise<WorkOutcome> {
    const made = commandBody(row);
    if ('error' in made) return { row, result: 'refused', cause: 'invalid', reason: made.error };
    const contract = CONTRACTS[row.kind as CommandKind];
    try {
      const reply = await this.bus().request(contract, { hostId: row.hostId }, made.body as never, {
        hostId: row.hostId,
        operationId: row.operationId ?? undefined,
        timeoutMs: this.timeoutMs,
      });
      return fromReply(row, reply);
    } catch (e) {
      return fromError(row, e);
    }
  }
}
