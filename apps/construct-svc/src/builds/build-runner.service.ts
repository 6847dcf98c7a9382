import { Inject, Injectable } from '@nestjs/common';
import { Allocated, Artifact, BuildClaim, BuildFlavorEntity, BuildRepository, OperationRepository } from '@nco/cib';
import { ArtifactStore, createStamper, NcoVariables, operationSummary, Subjects } from '@nco/events';
import { countSettledOperations, NatsService, recordBuild, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { UnrecoverableError } from 'bullmq';
import { createHash } from 'node:crypto';
import { Logger } from 'pino';
import { CatalogService } from '../catalog/catalog.service';
import { SymversService } from '../symvers/symvers.service';
import { ConstructConfig } from '../settings';
import { CompileError, KbuildToolchain, ToolchainUnavailableError } from '../toolchain/kbuild.toolchain';
import { chunks, flavorOf, groupBy } from './flavor';

type Progress = (p: { stage: string; done: number; total: number }) => Promise<void>;

interface FlavorGroup {
  release: string;
  symversSha256: string;
  claims: BuildClaim[];
}

/**
 * Runs one build operation: takes its due pending builds, makes sure each host's symvers is
 * known, compiles once per kernel flavor (or once per host with the kbuild toolchain), then
 * stamps and records host-unique modules in chunks. Compile errors fail those hosts for good;
 * transient errors put the untouched hosts back and let the queue retry.
 */
@Injectable()
export class BuildRunnerService {
  private readonly log: Logger;
  private store?: ArtifactStore;

  constructor(
    private readonly builds: BuildRepository,
    private readonly operations: OperationRepository,
    private readonly catalog: CatalogService,
    private readonly symvers: SymversService,
    private readonly toolchain: KbuildToolchain,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: ConstructConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'build' });
  }

  private get artifacts(): ArtifactStore {
    this.store ??= new ArtifactStore(this.nats.connection);
    return this.store;
  }

  async run(operationId: string, progress: Progress): Promise<void> {
    const log = this.log.child({ operationId });
    const claims = await this.builds.claim(operationId);
    if (!claims.length) return;
    const open = new Map(claims.map((c) => [c.pendingId, c]));
    let compileFailures = 0;
    try {
      const { ready, unavailable } = await this.symvers.ensure(claims.map((c) => c.hostId));
      const byHost = new Map(claims.map((c) => [c.hostId, c]));
      for (const u of unavailable) open.delete(byHost.get(u.hostId)!.pendingId);
      await this.builds.defer(
        unavailable.map((u) => byHost.get(u.hostId)!.pendingId),
        this.config.BUILD_DEFER_MS,
        `symvers unavailable: ${unavailable[0]?.reason ?? ''}`,
      );
      const groups = groupBy(ready, (r) => `${r.release}\0${r.symversSha256}`);
      let done = 0;
      for (const hosts of groups.values()) {
        const group: FlavorGroup = { release: hosts[0].release, symversSha256: hosts[0].symversSha256, claims: hosts.map((h) => byHost.get(h.hostId)!) };
        const ok = await this.buildGroup(operationId, group, log, async (n) => {
          done += n;
          await progress({ stage: 'stamping', done, total: claims.length });
        });
        if (!ok) compileFailures++;
        for (const c of group.claims) open.delete(c.pendingId);
      }
    } catch (e) {
      await this.builds.defer([...open.keys()], 0, `transient: ${(e as Error).message}`);
      throw e;
    }
    await this.publishProgress(operationId);
    if (compileFailures) throw new UnrecoverableError(`${compileFailures} kernel flavor(s) failed to compile (see nco builds)`);
  }

  /** Returns false when the module does not compile for this flavor (those hosts are failed). */
  private async buildGroup(operationId: string, g: FlavorGroup, log: Logger, onDone: (n: number) => Promise<void>): Promise<boolean> {
    const args = g.claims[0].args;
    const { entity, metadata, files } = await this.catalog.require(args.module);
    const flavor = flavorOf(entity.sourceSha256, g.release, g.symversSha256);
    const symvers = await this.symvers.content(g.symversSha256);
    if (!symvers) throw new Error(`symvers ${g.symversSha256} vanished from the CIB`);
    const compile = (variables?: NcoVariables) =>
      this.toolchain.compile({ moduleName: args.module, files, sourceFile: metadata.source, release: g.release, symvers, variables });
    const started = Date.now();
    let template: BuildFlavorEntity;
    let compiled = false;
    try {
      template = await this.templateFor(flavor, async () => {
        compiled = true;
        const out = await compile();
        const stored = await this.artifacts.put(`template/${flavor}.ko`, out.ko);
        log.info({ module: args.module, release: g.release, flavor, ms: out.durationMs, size: stored.size }, 'compiled template');
        return { flavor, moduleName: args.module, sourceSha256: entity.sourceSha256, release: g.release, symversSha256: g.symversSha256,
          artifactRef: stored.ref, artifactSha256: stored.sha256, artifactSize: stored.size, compileMs: out.durationMs };
      });
    } catch (e) {
      if (!(e instanceof CompileError || e instanceof ToolchainUnavailableError)) throw e;
      const error = e instanceof CompileError ? e.output : e.message;
      log.warn({ module: args.module, release: g.release, flavor, hosts: g.claims.length }, 'module does not compile for this kernel');
      const settled = await this.builds.fail(operationId, g.claims, args.module, g.release, error);
      countSettledOperations(settled ? [settled] : []);
      this.nats.bus.publish(Subjects.evt.buildFailed, undefined,
        { operationId, module: args.module, release: g.release, flavor, hostCount: g.claims.length, compiled: true, durationMs: Date.now() - started, error: error.slice(0, 2000) },
        { operationId });
      recordBuild({ outcome: 'failed', compiled: true, durationMs: Date.now() - started, hostCount: g.claims.length });
      return false;
    }
    const templateKo = await this.artifacts.get(template.artifactRef, template.artifactSha256);
    const stamper = createStamper(templateKo);
    for (const chunk of chunks(g.claims, this.config.BUILD_CHUNK)) {
      const { keys } = await this.nats.bus.request(Subjects.svc.keysIssue, undefined, { count: chunk.length }, { operationId });
      const hexKeys = new Map(keys.map((k) => [k.keyId, Buffer.from(k.keyBase64, 'base64').toString('hex')]));
      const vars = (a: Allocated): NcoVariables => ({ moduleId: a.moduleId, hexKey: hexKeys.get(a.keyId)!, activate: args.activeMode, priority: a.priority, applyNow: args.applyNow });
      await this.builds.record({
        operationId,
        moduleName: args.module,
        sourceSha256: entity.sourceSha256,
        flavor,
        args,
        hosts: chunk.map((c, i) => ({ pendingId: c.pendingId, hostId: c.hostId, keyId: keys[i].keyId })),
        produce: (allocated) =>
          args.toolchain === 'kbuild'
            ? this.compileEach(allocated, vars, compile, flavor)
            : Promise.resolve(allocated.map((a) => digest(stamper.stamp(vars(a)), `stamp:${template.artifactRef}`))),
      });
      await onDone(chunk.length);
      await this.publishProgress(operationId);
    }
    this.nats.bus.publish(Subjects.evt.buildSucceeded, undefined,
      { operationId, module: args.module, release: g.release, flavor, hostCount: g.claims.length, compiled, durationMs: Date.now() - started },
      { operationId });
    recordBuild({ outcome: 'succeeded', compiled, durationMs: Date.now() - started, hostCount: g.claims.length });
    return true;
  }

  /** The prototype's toolchain: one compile per host with its variables written into the source. */
  private async compileEach(allocated: Allocated[], vars: (a: Allocated) => NcoVariables, compile: (v?: NcoVariables) => Promise<{ ko: Buffer }>, flavor: string): Promise<Artifact[]> {
    const out: Artifact[] = [];
    for (const a of allocated) {
      const { ko } = await compile(vars(a));
      const stored = await this.artifacts.put(`host/${a.hostId}/${a.moduleId}-${flavor}.ko`, ko);
      out.push(stored);
    }
    return out;
  }

  /** The compiled template of a flavor: reused when it exists, else compiled once across replicas. */
  private async templateFor(flavor: string, compile: () => Promise<Omit<BuildFlavorEntity, 'compiledAt'>>): Promise<BuildFlavorEntity> {
    const existing = await this.builds.flavor(flavor);
    if (existing) return existing;
    return this.builds.withLock(`flavor:${flavor}`, async () => {
      const again = await this.builds.flavor(flavor);
      if (again) return again;
      await this.builds.saveFlavor(await compile());
      return (await this.builds.flavor(flavor))!;
    });
  }

  private async publishProgress(operationId: string): Promise<void> {
    const op = await this.operations.get(operationId);
    if (!op) return;
    // Only build-only operations settle here; a deploy settles when reports confirm its installs (monitor-svc).
    if (op.kind === 'build') countSettledOperations([op]);
    this.nats.bus.publish(Subjects.evt.operationProgress, undefined, operationSummary(op), { operationId });
  }
}

function digest(ko: Buffer, ref: string): Artifact {
  return { sha256: createHash('sha256').update(ko).digest('hex'), size: ko.length, ref };
}
