import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { LifecycleRepository, OperationRepository, RotationStep } from '@nco/cib';
import { NcoError, operationSummary, RotateBody, Subjects } from '@nco/events';
import { countSettledOperations, NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { randomUUID } from 'node:crypto';
import { Logger } from 'pino';
import { OrchestratorConfig } from '../settings';
import { DeployService } from './deploy.service';

/**
 * Rotate `from` → `to` on a set of hosts, host by host: deploy `to`; once it is installed on a
 * host, deprecate `from` there (no new sockets); once `from` has no sockets left, or its drain
 * time is up, revoke it. A reconcile loop drives it from the CIB, so it survives restarts.
 */
@Injectable()
export class RotateService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  private running = false;
  private readonly log: Logger;

  constructor(
    private readonly lifecycle: LifecycleRepository,
    private readonly operations: OperationRepository,
    private readonly deployer: DeployService,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: OrchestratorConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'rotate' });
  }

  async rotate(body: RotateBody): Promise<{ operationId: string; targetCount: number }> {
    if (body.from === body.to) throw new NcoError('invalid_request', 'from and to are the same module');
    const { hostIds, unknown } = await this.operations.resolveTarget(body.target);
    if (unknown.length) throw new NcoError('invalid_request', `unknown or middlebox hosts: ${unknown.slice(0, 20).join(', ')}`);
    const holders = await this.lifecycle.hostsWithModule(hostIds, body.from);
    if (!holders.length) throw new NcoError('invalid_request', `no target host runs ${body.from}`);
    const deploy = await this.deployer.deploy({
      module: body.to,
      target: { hostIds: holders },
      activeMode: body.activeMode,
      applyNow: true,
      params: body.params,
      toolchain: 'stamp',
    });
    const operationId = randomUUID();
    await this.operations.create({ id: operationId, kind: 'rotate', params: { ...body, deployOperationId: deploy.operationId } }, []);
    await this.operations.setTargets(operationId, holders.length);
    await this.lifecycle.startRotation({ operationId, deployOperationId: deploy.operationId, from: body.from, to: body.to, hostIds: holders, drainTimeoutMs: body.drainTimeoutMs });
    this.log.info({ operationId, from: body.from, to: body.to, hosts: holders.length }, 'rotation started');
    void this.tick();
    return { operationId, targetCount: holders.length };
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.config.ROTATE_TICK_MS);
    this.timer.unref();
  }

  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** One pass over running rotations; several replicas may run it (pending rows de-duplicate). */
  async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (const r of await this.lifecycle.runningRotations()) {
        try {
          await this.advance(r.operationId, await this.lifecycle.rotationStep(r));
        } catch (e) {
          this.log.error({ operationId: r.operationId, err: (e as Error).message }, 'rotation step failed');
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async advance(operationId: string, step: RotationStep): Promise<void> {
    if (step.deprecate.length) {
      await this.operations.addPending(operationId, step.deprecate.map((d) => ({ hostId: d.hostId, moduleId: d.moduleId, kind: 'deprecate', args: { reason: 'rotate' } })));
    }
    if (step.revoke.length) {
      await this.operations.addPending(operationId, step.revoke.map((d) => ({
        hostId: d.hostId, moduleId: d.moduleId, kind: 'revoke',
        args: { reason: d.drained ? 'rotated: drained' : 'rotated: drain timeout' },
      })));
    }
    if (step.deprecate.length || step.revoke.length) {
      this.log.info({ operationId, deprecate: step.deprecate.length, revoke: step.revoke.length }, 'rotation advanced');
      const hostIds = [...step.deprecate, ...step.revoke].map((d) => d.hostId);
      this.nats.bus.publish(Subjects.evt.pendingWork, undefined, { kinds: ['deprecate', 'revoke'], hostIds }, { operationId });
    }
    const settled = await this.operations.settleRotation(operationId, step.remaining, step.failed);
    if (settled) {
      countSettledOperations([settled]);
      await this.lifecycle.finishRotation(operationId, settled.status === 'succeeded' ? 'done' : 'failed');
      this.nats.bus.publish(Subjects.evt.operationProgress, undefined, operationSummary(settled), { operationId });
    }
  }
}
