import { PRIORITY_MAX, PRIORITY_MIN } from '@nco/events';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { readArtifact } from './artifact-reader';
import { challengeMessageError, challengePlaintext, CHALLENGE_NONCE_BYTES } from './challenge';
import {
  ChallengeAnswer,
  CommandResult,
  Driver,
  DriverError,
  InstallOptions,
  InstallOutcome,
  KernelReport,
  RemoveOutcome,
} from './driver';
import { validateModuleParams } from './module-params';
import { StateFile } from './state-file';

const Flag = z.union([z.literal(0), z.literal(1)]);
const HexKey = z.string().regex(/^[0-9a-f]{64}$/);

const SimModule = z.object({
  id: z.number().int(),
  deprecated: z.boolean(),
  activated: Flag,
  priority: z.number().int(),
  count: z.number().int().min(0),
  /** Seconds since the epoch at which the module entered its current list. */
  ts: z.number(),
  /** sha256 and size of the artifact it was loaded from (absent for forced modules). */
  sha256: z.string().optional(),
  size: z.number().int().optional(),
  /** The module key from the artifact's NCO block: the core answers challenges with it. Never logged. */
  key: HexKey.optional(),
  applyNow: z.boolean().default(false),
  /** Loaded behind the NCO's back (forceInstall): the NCO never built it. */
  forced: z.boolean().optional(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
});
export type SimModule = z.infer<typeof SimModule>;

const SimState = z.object({
  v: z.literal(1),
  modules: z.array(SimModule),
  revoked: z.array(z.object({ id: z.number().int(), ts: z.number() })),
});

/** The core keeps this many revocation records (oldest dropped), so a report stays bounded. */
export const MAX_REVOKED = 1024;

export interface SimulatedDriverOptions {
  /** JSON file the kernel state lives in, so it survives an agent restart; memory only when absent. */
  statePath?: string;
  /** Clock in milliseconds (tests pin it). */
  now?: () => number;
  /** Where the emulated core's Module.symvers comes from (see symversFromFile). */
  symvers?: () => Promise<Buffer>;
}

export interface ForceInstallOptions {
  activated?: 0 | 1;
  /** Default: the highest priority no loaded module holds. */
  priority?: number;
  count?: number;
}

/** What inspect() shows: the module without its key. */
export type SimModuleView = Omit<SimModule, 'key'> & { hasKey: boolean };

/**
 * The Layer 4.5 kernel core, emulated in memory: installed, deprecated and revoked modules with
 * their timestamps, active mode, priority, socket count and key. Like the real core it learns a
 * module's id, key, active mode, priority and applyNow from the module's NCO block, refuses a
 * second module under a loaded id or priority, and answers security challenges with the key.
 * Socket helpers and `revokeLocally` / `forceInstall` let tests play the parts of applications
 * and of the core itself.
 */
export class SimulatedDriver implements Driver {
  readonly kind = 'simulated' as const;
  private readonly modules = new Map<number, SimModule>();
  /** Module id → revocation time (s); insertion order is age order. */
  private readonly revoked = new Map<number, number>();
  private readonly file?: StateFile;
  private readonly now: () => number;
  private readonly loadSymvers?: () => Promise<Buffer>;

  constructor(opts: SimulatedDriverOptions = {}) {
    this.file = opts.statePath ? new StateFile(opts.statePath) : undefined;
    this.now = opts.now ?? Date.now;
    this.loadSymvers = opts.symvers;
  }

  /** Creates a driver and loads the state a previous run left, if any. */
  static async open(opts: SimulatedDriverOptions = {}): Promise<SimulatedDriver> {
    const driver = new SimulatedDriver(opts);
    await driver.load();
    return driver;
  }

  async report(): Promise<KernelReport> {
    const installed: KernelReport['Installed'] = [];
    const deprecated: KernelReport['Deprecated'] = [];
    for (const m of [...this.modules.values()].sort((a, b) => a.id - b.id)) {
      (m.deprecated ? deprecated : installed).push({ ID: m.id, Activated: m.activated, Count: m.count, ts: m.ts });
    }
    const revoked = [...this.revoked].sort((a, b) => a[0] - b[0]).map(([ID, ts]) => ({ ID, ts }));
    return { Installed: installed, Deprecated: deprecated, Revoked: revoked };
  }

  async symvers(): Promise<Buffer> {
    if (!this.loadSymvers) throw new DriverError('this simulated core has no Module.symvers', 'unavailable');
    return this.loadSymvers();
  }

  async install(artifact: Buffer, opts: InstallOptions): Promise<InstallOutcome> {
    const info = readArtifact(artifact, opts.moduleId);
    const params = validateModuleParams(opts.params);
    const loaded = this.modules.get(info.moduleId);
    if (loaded) {
      if (loaded.sha256 === info.sha256) return 'unchanged';
      throw new DriverError(`module ${info.moduleId} is already loaded (from another artifact); revoke it first`, 'conflict');
    }
    const holder = this.priorityHolder(info.priority);
    if (holder) throw new DriverError(`priority ${info.priority} is already held by module ${holder.id}`, 'conflict');
    // A new load under a revoked id replaces the core's revocation record.
    this.revoked.delete(info.moduleId);
    this.modules.set(info.moduleId, {
      id: info.moduleId,
      deprecated: false,
      activated: info.activate,
      priority: info.priority,
      count: 0,
      ts: this.ts(),
      sha256: info.sha256,
      size: info.size,
      key: info.hexKey,
      applyNow: info.applyNow,
      params,
    });
    await this.persist();
    return 'installed';
  }

  /**
   * rmmod: the module leaves the core (sockets still using it are detached) and is listed as
   * Revoked with the time. A module the core already revoked stays listed and answers
   * `already-revoked`, so a repeated revoke succeeds.
   */
  async remove(moduleId: number): Promise<RemoveOutcome> {
    if (!this.modules.delete(moduleId)) return this.revoked.has(moduleId) ? 'already-revoked' : 'absent';
    this.addRevoked(moduleId);
    await this.persist();
    return 'removed';
  }

  async toggle(moduleId: number, mode: 0 | 1): Promise<CommandResult> {
    const flag = toFlag(mode, 'mode');
    return this.answer(moduleId, (m) => {
      m.activated = flag;
      return true;
    });
  }

  /** Result 0 for an unknown module or a priority another loaded module holds (as the core refuses). */
  async setPriority(moduleId: number, priority: number): Promise<CommandResult> {
    const p = checkPriority(priority);
    return this.answer(moduleId, (m) => {
      const holder = this.priorityHolder(p);
      if (holder && holder !== m) return false;
      m.priority = p;
      return true;
    });
  }

  async deprecate(moduleId: number): Promise<CommandResult> {
    return this.answer(moduleId, (m) => {
      if (m.deprecated) return true;
      m.deprecated = true;
      m.ts = this.ts();
      return true;
    });
  }

  /**
   * The core's answer to a security challenge (byte layout in apps/dca/README.md): decrypts `msg`
   * with the module key and `iv` (AES-256-CBC, PKCS#7) to 8 bytes, then encrypts those 8 bytes
   * followed by the module id in ASCII decimal under a fresh random IV.
   */
  async challenge(moduleId: number, iv: Buffer, msg: Buffer): Promise<ChallengeAnswer> {
    const m = this.modules.get(moduleId);
    if (!m) throw new DriverError(`module ${moduleId} is not loaded`, 'not_found');
    if (!m.key) throw new DriverError(`module ${moduleId} has no key (it was not loaded from an NCO artifact)`);
    const problem = challengeMessageError(iv, msg);
    if (problem) throw new DriverError(problem);
    const key = Buffer.from(m.key, 'hex');
    let nonce: Buffer;
    try {
      const d = createDecipheriv('aes-256-cbc', key, iv);
      nonce = Buffer.concat([d.update(msg), d.final()]);
    } catch {
      throw new DriverError(`challenge for module ${moduleId} does not decrypt under its key`);
    }
    if (nonce.length !== CHALLENGE_NONCE_BYTES) {
      throw new DriverError(`challenge for module ${moduleId} decrypts to ${nonce.length} bytes, not ${CHALLENGE_NONCE_BYTES}`);
    }
    const answerIv = randomBytes(16);
    const c = createCipheriv('aes-256-cbc', key, answerIv);
    const response = Buffer.concat([c.update(challengePlaintext(nonce, moduleId)), c.final()]);
    return { IV: answerIv.toString('hex'), Response: response.toString('hex') };
  }

  /** An application opens a socket: only an installed, active, non-deprecated module takes it. */
  openSocket(moduleId: number): boolean {
    const m = this.modules.get(moduleId);
    if (!m || m.deprecated || m.activated === 0) return false;
    m.count++;
    this.persistLater();
    return true;
  }

  closeSocket(moduleId: number): boolean {
    const m = this.modules.get(moduleId);
    if (!m || m.count === 0) return false;
    m.count--;
    this.persistLater();
    return true;
  }

  setSocketCount(moduleId: number, count: number): void {
    const m = this.loaded(moduleId);
    if (!Number.isInteger(count) || count < 0) throw new DriverError(`socket count ${count} is not a non-negative integer`);
    m.count = count;
    this.persistLater();
  }

  /** What the core does to a misbehaving module: unregisters it and lists it as Revoked. */
  revokeLocally(moduleId: number): void {
    this.loaded(moduleId);
    this.modules.delete(moduleId);
    this.addRevoked(moduleId);
    this.persistLater();
  }

  /** The module vanishes without a trace (kernel state lost, e.g. a reinstalled device). */
  forget(moduleId: number): void {
    this.loaded(moduleId);
    this.modules.delete(moduleId);
    this.persistLater();
  }

  /** Loads a module the NCO never built (someone ran insmod by hand); the core's rules still apply. */
  forceInstall(moduleId: number, opts: ForceInstallOptions = {}): void {
    if (this.modules.has(moduleId)) throw new DriverError(`module ${moduleId} is already loaded`, 'conflict');
    const priority = opts.priority === undefined ? this.freePriority() : checkPriority(opts.priority);
    const holder = this.priorityHolder(priority);
    if (holder) throw new DriverError(`priority ${priority} is already held by module ${holder.id}`, 'conflict');
    this.revoked.delete(moduleId);
    this.modules.set(moduleId, {
      id: moduleId,
      deprecated: false,
      activated: opts.activated ?? 1,
      priority,
      count: opts.count ?? 0,
      ts: this.ts(),
      applyNow: false,
      forced: true,
      params: {},
    });
    this.persistLater();
  }

  /** A copy of one module's state without its key, for tests and diagnostics. */
  inspect(moduleId: number): Readonly<SimModuleView> | undefined {
    const m = this.modules.get(moduleId);
    if (!m) return undefined;
    const { key, ...rest } = m;
    return { ...rest, params: { ...m.params }, hasKey: key !== undefined };
  }

  /** Waits for state changes made by the synchronous helpers to reach the state file. */
  async flush(): Promise<void> {
    await this.persist();
  }

  private answer(moduleId: number, change: (m: SimModule) => boolean): Promise<CommandResult> {
    const m = this.modules.get(moduleId);
    if (!m || !change(m)) return Promise.resolve({ ID: moduleId, Result: 0 });
    return this.persist().then(() => ({ ID: moduleId, Result: 1 as const }));
  }

  private priorityHolder(priority: number): SimModule | undefined {
    for (const m of this.modules.values()) if (m.priority === priority) return m;
    return undefined;
  }

  private freePriority(): number {
    const taken = new Set([...this.modules.values()].map((m) => m.priority));
    for (let p = PRIORITY_MAX; p >= PRIORITY_MIN; p--) if (!taken.has(p)) return p;
    throw new DriverError('no free priority left', 'conflict');
  }

  private addRevoked(moduleId: number): void {
    this.revoked.delete(moduleId);
    this.revoked.set(moduleId, this.ts());
    while (this.revoked.size > MAX_REVOKED) this.revoked.delete(this.revoked.keys().next().value as number);
  }

  private loaded(moduleId: number): SimModule {
    const m = this.modules.get(moduleId);
    if (!m) throw new DriverError(`module ${moduleId} is not loaded`, 'not_found');
    return m;
  }

  private ts(): number {
    return this.now() / 1000;
  }

  private async load(): Promise<void> {
    if (!this.file) return;
    const raw = await this.file.read();
    if (raw === undefined) return;
    const parsed = SimState.safeParse(raw);
    if (!parsed.success) throw new DriverError(`state file ${this.file.path} is not a kernel state: ${parsed.error.issues[0]?.message}`);
    for (const m of parsed.data.modules) this.modules.set(m.id, m);
    for (const r of [...parsed.data.revoked].sort((a, b) => a.ts - b.ts)) this.revoked.set(r.id, r.ts);
  }

  private async persist(): Promise<void> {
    if (!this.file) return;
    await this.file.write({
      v: 1,
      modules: [...this.modules.values()],
      revoked: [...this.revoked].map(([id, ts]) => ({ id, ts })),
    });
  }

  /** Every write holds the whole state, so a failed one is repaired by the next write or flush(). */
  private persistLater(): void {
    this.persist().catch(() => undefined);
  }
}

function toFlag(v: unknown, name: string): 0 | 1 {
  if (v === 1) return 1;
  if (v === 0) return 0;
  throw new DriverError(`${name} must be 0 or 1, got ${JSON.stringify(v)}`);
}

function checkPriority(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < PRIORITY_MIN || v > PRIORITY_MAX) {
    throw new DriverError(`priority must be an integer in ${PRIORITY_MIN}..${PRIORITY_MAX}, got ${JSON.stringify(v)}`);
  }
  return v;
}
