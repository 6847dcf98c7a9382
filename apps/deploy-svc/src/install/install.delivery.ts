import type { ClaimedWork, DeviceWorkRepository, InstallPayload } from '@nco/cib';
import { ArtifactStore, createStamper, InstallCommand, isNcoError, NatsBus, NcoStamper, Subjects } from '@nco/events';
import { Logger } from 'pino';
import { Delivery, fromError, fromReply, groupBy, Semaphore, WorkOutcome } from '@nco/delivery';
import { artifactSource, checkArtifact, hexKeyOf, stampVariables } from './artifact';
import { ArtifactSealer, DeviceSealKey } from './artifact-sealer';
import type { EphemeralKey } from '@nco/events';

type SealTo = { keys: Map<number, DeviceSealKey>; eph?: EphemeralKey };

/** keysGet answers must stay under NATS's 1 MB message limit: ~110 bytes per key. */
const KEYS_PER_REQUEST = 5_000;
const STAMPER_CACHE = 64;

export interface InstallDeliveryOptions {
  work: DeviceWorkRepository;
  bus: () => NatsBus;
  artifacts: () => ArtifactStore;
  timeoutMs: number;
  log: Logger;
  /** Seals each artifact to its device's enrolled key (docs/security.md); absent: artifacts go in clear. */
  sealer?: ArtifactSealer;
}

/**
 * Installs: for a claimed batch, the payloads come from one query; each flavor's compiled
 * template is read once (then cached) and each host's module re-stamped with its variables and
 * its key — keys for the whole batch in one keysGet request to security-svc. The result must
 * have the sha256 and size recorded at build time (else the install fails loudly, unsent); it
 * travels as base64 in the install command, and the device answers `{ID, Result}`.
 */
export class InstallDelivery implements Delivery {
  readonly kinds = ['install'] as const;
  private readonly stampers = new Map<string, NcoStamper>();
  private readonly scratchBuffers = new Map<number, Buffer>();

  constructor(private readonly o: InstallDeliveryOptions) {}

  async deliver(rows: ClaimedWork[], slots: Semaphore): Promise<WorkOutcome[]> {
    const t0 = Date.now();
    const payloads = new Map((await this.o.work.installPayloads(rows.map((r) => r.pendingId))).map((p) => [p.pendingId, p]));
    const t1 = Date.now();
    const out: WorkOutcome[] = [];
    const ready: Array<{ row: ClaimedWork; p: InstallPayload }> = [];
    for (const row of rows) {
      const p = payloads.get(row.pendingId);
      if (p) ready.push({ row, p });
      else out.push({ row, result: 'refused', cause: 'gone', reason: 'the deployment no longer awaits this install (revoked or failed meanwhile)' });
    }

    let sealTo: SealTo;
    try {
      sealTo = this.o.sealer ? await this.o.sealer.keysFor(ready.map((r) => r.row.hostId)) : { keys: new Map() };
    } catch (e) {
      for (const { row } of ready) out.push({ row, result: 'transient', error: `device keys unavailable: ${(e as Error).message}` });
      return out;
    }
    const stamped = ready.filter((r) => artifactSource(r.p.artifactRef).kind === 'stamp');
    const keys = await this.keysFor(stamped.map((r) => r.p.keyId).filter((k): k is string => !!k));
    const t2 = Date.now();
    const stampers = await this.stampersFor(stamped.map((r) => r.p));
    const t3 = Date.now();

    const sends: Array<Promise<WorkOutcome>> = [];
    for (const { row, p } of ready) {
      const source = artifactSource(p.artifactRef);
      if (source.kind === 'unknown') {
        out.push({ row, result: 'refused', cause: 'artifact', reason: `artifact ref ${p.artifactRef || '(none)'} is not one the NCO can deliver` });
        continue;
      }
      if (source.kind === 'stamp') {
        const stamper = stampers.get(source.templateRef)!;
        if (stamper instanceof Error) {
          out.push({ row, result: 'transient', error: `template ${source.templateRef}: ${stamper.message}` });
          continue;
        }
        if (!p.keyId) {
          out.push({ row, result: 'refused', cause: 'artifact', reason: 'the built module has no key id; it cannot be re-stamped' });
          continue;
        }
        const key = keys instanceof Error ? keys : keys.get(p.keyId);
        if (key instanceof Error || key === undefined) {
          out.push({ row, result: 'transient', error: `module key unavailable: ${key instanceof Error ? key.message : `key ${p.keyId} not returned`}` });
          continue;
        }
        // Stamped into a scratch buffer: stamp, hash and base64 run without a pause, so one buffer serves every send.
        sends.push(slots.run(() => this.send(row, p, () => stamper.stamp(stampVariables(p, key), this.scratch(stamper.size)), sealTo)));
      } else {
        sends.push(slots.run(async () => {
          try {
            const stored = await this.o.artifacts().get(source.ref, p.artifactSha256);
            return await this.send(row, p, () => stored, sealTo);
          } catch (e) {
            return { row, result: 'transient', error: `artifact ${p.artifactRef}: ${(e as Error).message}` } as WorkOutcome;
          }
        }));
      }
    }
    out.push(...(await Promise.all(sends)));
    this.o.log.debug({ rows: rows.length, payloadsMs: t1 - t0, keysMs: t2 - t1, templatesMs: t3 - t2, sendMs: Date.now() - t3 }, 'install batch phases');
    return out;
  }

  /**
   * Re-creates the module, checks it against its record and sends it. `bytes` must be
   * synchronous: the scratch buffer it may fill is reused by the next send once this one awaits.
   */
  private async send(row: ClaimedWork, p: InstallPayload, bytes: () => Buffer, sealTo: SealTo): Promise<WorkOutcome> {
    let body: InstallCommand;
    try {
      const artifact = bytes();
      const checked = checkArtifact(artifact, p);
      if ('mismatch' in checked) return { row, result: 'refused', cause: 'artifact', reason: checked.mismatch };
      const key = sealTo.keys.get(row.hostId);
      body = key
        ? { moduleId: p.moduleId, size: checked.ok.size, sha256: checked.ok.sha256, sealed: this.o.sealer!.seal(artifact, key, sealTo.eph!, { hostId: row.hostId, moduleId: p.moduleId, sha256: checked.ok.sha256 }), params: p.params }
        : { moduleId: p.moduleId, size: checked.ok.size, sha256: checked.ok.sha256, artifactBase64: artifact.toString('base64'), params: p.params };
    } catch (e) {
      // Variables the NCO block refuses will not change by waiting.
      if (isNcoError(e)) return { row, result: 'refused', cause: 'artifact', reason: `cannot re-create the module: ${e.message}` };
      return { row, result: 'transient', error: `artifact ${p.artifactRef}: ${(e as Error).message}` };
    }
    try {
      const reply = await this.o.bus().request(Subjects.device.install, { hostId: row.hostId }, body, {
        hostId: row.hostId,
        operationId: row.operationId ?? undefined,
        timeoutMs: this.o.timeoutMs,
      });
      return fromReply(row, reply);
    } catch (e) {
      return fromError(row, e);
    }
  }

  private scratch(size: number): Buffer {
    let b = this.scratchBuffers.get(size);
    if (!b) {
      if (this.scratchBuffers.size >= STAMPER_CACHE) this.scratchBuffers.clear();
      b = Buffer.allocUnsafe(size);
      this.scratchBuffers.set(size, b);
    }
    return b;
  }

  /** The batch's module keys, in as few keysGet requests as the message limit allows (one for a default batch). */
  private async keysFor(keyIds: string[]): Promise<Map<string, string> | Error> {
    const unique = [...new Set(keyIds)];
    const keys = new Map<string, string>();
    try {
      for (let i = 0; i < unique.length; i += KEYS_PER_REQUEST) {
        const { keys: got } = await this.o.bus().request(Subjects.svc.keysGet, undefined, { keyIds: unique.slice(i, i + KEYS_PER_REQUEST) });
        for (const k of got) keys.set(k.keyId, hexKeyOf(k.keyBase64));
      }
      return keys;
    } catch (e) {
      this.o.log.warn({ keys: unique.length, err: (e as Error).message }, 'could not get module keys from security-svc');
      return e as Error;
    }
  }

  /** A stamper per template: read from the object store once (sha256 checked), then cached. */
  private async stampersFor(payloads: InstallPayload[]): Promise<Map<string, NcoStamper | Error>> {
    const out = new Map<string, NcoStamper | Error>();
    for (const [templateRef, group] of groupBy(payloads, (p) => (artifactSource(p.artifactRef) as { templateRef: string }).templateRef)) {
      const sha = group[0].templateSha256;
      const cacheKey = `${templateRef}@${sha}`;
      const cached = this.stampers.get(cacheKey);
      if (cached) {
        out.set(templateRef, cached);
        continue;
      }
      try {
        if (!sha) throw new Error('its flavor is not recorded in build_flavors, so its sha256 cannot be checked');
        const stamper = createStamper(await this.o.artifacts().get(templateRef, sha));
        if (this.stampers.size >= STAMPER_CACHE) this.stampers.clear();
        this.stampers.set(cacheKey, stamper);
        out.set(templateRef, stamper);
      } catch (e) {
        this.o.log.error({ templateRef, hosts: group.length, err: (e as Error).message }, 'could not load a compiled template');
        out.set(templateRef, e as Error);
      }
    }
    return out;
  }
}
