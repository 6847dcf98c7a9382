import { Injectable } from '@nestjs/common';
import { BuildArgs, BuildRepository, OperationRepository } from '@nco/cib';
import { BuildRequestBody, NcoError, resolveModuleParams } from '@nco/events';
import { randomUUID } from 'node:crypto';
import { CatalogService } from '../catalog/catalog.service';
import { BuildQueueRepository } from '../queue/build-queue.repository';

/**
 * Accepting a build: checks the module, its parameters, the target and an explicit priority,
 * writes the operation and one pending build per host (desired state first), queues the job,
 * and answers at once with the operation id.
 */
@Injectable()
export class BuildRequestService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly operations: OperationRepository,
    private readonly builds: BuildRepository,
    private readonly queue: BuildQueueRepository,
  ) {}

  async request(body: BuildRequestBody, requestedBy: string | null = null): Promise<{ operationId: string; targetCount: number; alreadyDone: number }> {
    const { metadata } = await this.catalog.require(body.module);
    let params: BuildArgs['params'];
    try {
      params = resolveModuleParams(metadata.params, body.params);
    } catch (e) {
      throw new NcoError('invalid_request', `module ${body.module}: ${(e as Error).message}`);
    }
    const { hostIds: targets, unknown } = await this.operations.resolveTarget(body.target);
    if (unknown.length) throw new NcoError('invalid_request', `unknown or middlebox hosts: ${unknown.slice(0, 20).join(', ')}`);
    if (!targets.length) throw new NcoError('invalid_request', 'the target matches no host');
    // A deploy given again: hosts that already run the module need nothing (no second copy).
    const running = body.install ? new Set(await this.builds.hostsRunning(targets, body.module)) : new Set<number>();
    const hostIds = targets.filter((h) => !running.has(h));
    const priority = body.priority ?? metadata.defaultPriority ?? null;
    if (body.priority !== undefined && hostIds.length) {
      const holders = await this.builds.priorityHolders(hostIds, body.priority);
      if (holders.length) {
        const list = holders.slice(0, 10).map((h) => `host ${h.hostId} (module ${h.moduleId})`).join(', ');
        throw new NcoError('conflict', `priority ${body.priority} is already used on ${holders.length} host(s): ${list}; pick another or omit it`);
      }
    }
    const args: BuildArgs = {
      module: body.module,
      activeMode: body.activeMode ?? (metadata.defaultActiveMode as 0 | 1),
      priority,
      applyNow: body.applyNow,
      params,
      toolchain: body.toolchain,
      install: body.install,
      ...(body.securityWindowMs !== undefined ? { securityWindowS: Math.ceil(body.securityWindowMs / 1000) } : {}),
    };
    const operationId = randomUUID();
    const queued = await this.operations.create(
      { id: operationId, kind: body.install ? 'deploy' : 'build', params: { ...body, target: body.target }, requestedBy },
      hostIds.map((hostId) => ({ hostId, kind: 'build', args: { ...args } })),
      undefined,
      running.size,
    );
    if (queued === 0 && running.size > 0) return { operationId, targetCount: running.size, alreadyDone: running.size };
    if (queued === 0) {
      await this.operations.fail(operationId, 'every target host already has this build pending');
      throw new NcoError('conflict', `every target host already has a build of ${body.module} pending (nco status shows it)`);
    }
    await this.queue.enqueue(operationId);
    return { operationId, targetCount: queued + running.size, alreadyDone: running.size };
  }
}
