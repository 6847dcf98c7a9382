import { Injectable } from '@nestjs/common';
import { CommandKind, DeviceWorkRepository, OperationRepository, SelectedDeployment } from '@nco/cib';
import { HostTarget, NcoError } from '@nco/events';
import { randomUUID } from 'node:crypto';

/** The selector every lifecycle command carries (ToggleBody, PriorityBody, DeprecateBody, RevokeBody). */
export interface CommandSelector {
  target: HostTarget;
  module?: string;
  moduleId?: number;
}

export interface Accepted {
  operationId: string;
  targetCount: number;
}

/** How an operator names the module in messages: by name, or by id. */
export function describeModule(s: Pick<CommandSelector, 'module' | 'moduleId'>): string {
  return s.module !== undefined ? s.module : `module id ${s.moduleId}`;
}

/**
 * Accepting a lifecycle command (toggle, priority, deprecate, revoke): the target and selector
 * resolve to live deployments, the operation and one pending row per deployment are written in
 * one transaction (desired state first), and the caller answers at once with the operation id.
 * A dispatcher carries the rows to the devices.
 */
@Injectable()
export class CommandIntakeService {
  constructor(
    private readonly work: DeviceWorkRepository,
    private readonly operations: OperationRepository,
  ) {}

  /** The live deployments the command means; an unknown host or no match is the operator's error. */
  async select(body: CommandSelector): Promise<SelectedDeployment[]> {
    if (body.target.hostIds) {
      const { unknown } = await this.operations.resolveTarget({ hostIds: body.target.hostIds });
      if (unknown.length) throw new NcoError('invalid_request', `unknown or middlebox hosts: ${unknown.slice(0, 20).join(', ')}${unknown.length > 20 ? ', …' : ''}`);
    }
    const selected = await this.work.selectDeployments(body.target, { module: body.module, moduleId: body.moduleId });
    if (!selected.length) throw new NcoError('invalid_request', `no deployment of ${describeModule(body)} on the target`);
    return selected;
  }

  /**
   * Writes the operation and its rows; `args` are what the device command needs besides the
   * module id. Every row already pending → conflict, and nothing is written.
   */
  async accept(kind: CommandKind, body: CommandSelector, selected: SelectedDeployment[], args: Record<string, unknown>): Promise<Accepted> {
    const operationId = randomUUID();
    const queued = await this.work.createCommandOperation(
      { id: operationId, kind, params: body as unknown as Record<string, unknown> },
      selected.map((d) => ({ hostId: d.hostId, moduleId: d.moduleId, args: { ...args, module: d.moduleName } })),
    );
    if (queued === 0) {
      throw new NcoError('conflict', `${kind} of ${describeModule(body)} is already pending on every target host (nco host modules shows it)`);
    }
    return { operationId, targetCount: queued };
  }
}

/**
 * `nco priority` must not give two live modules of one host the same priority: a module selected
 * twice on one host, or a priority another module holds (deployed, awaiting install, or asked
 * for by an open command), refuses the whole command with the hosts named.
 */
export async function checkPriority(
  work: DeviceWorkRepository,
  selected: SelectedDeployment[],
  priority: number,
  body: CommandSelector,
): Promise<void> {
  const perHost = new Map<number, number[]>();
  for (const d of selected) perHost.set(d.hostId, [...(perHost.get(d.hostId) ?? []), d.moduleId]);
  const twice = [...perHost].filter(([, ids]) => ids.length > 1);
  if (twice.length) {
    const list = twice.slice(0, 10).map(([h, ids]) => `host ${h} (modules ${ids.join(', ')})`).join(', ');
    throw new NcoError('conflict', `${describeModule(body)} is deployed more than once on ${twice.length} host(s): ${list}; one priority cannot go to both, name one by moduleId`);
  }
  const collisions = await work.priorityCollisions(selected, priority);
  if (collisions.length) {
    const hosts = [...new Set(collisions.map((c) => c.hostId))];
    const list = collisions.slice(0, 10).map((c) => `host ${c.hostId} (module ${c.holderModuleId})`).join(', ');
    throw new NcoError('conflict', `priority ${priority} is already used on ${hosts.length} host(s): ${list}; pick another priority`);
  }
}
