import { PRIORITY_MAX, PRIORITY_MIN } from '@nco/events';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ArtifactReader, readFromOptions } from './artifact-reader';
import {
  CommandResult,
  Driver,
  DriverError,
  InstallOptions,
  KernelReport,
  ModuleParams,
} from './driver';
import { StateFile } from './state-file';

const Flag = z.union([z.literal(0), z.literal(1)]);

const SimModule = z.object({
  id: z.number().int(),
  deprecated: z.boolean(),
  activated: Flag,
  priority: z.number().int(),
  count: z.number().int().min(0),
  /** Seconds since the epoch at which the module entered its current list. */
  ts: z.number(),
  sha256: z.string().optional(),
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

export interface SimulatedDriverOptions {
  /** JSON file the kernel state lives in, so it survives an agent restart; memory only when absent. */
  statePath?: string;
  readArtifact?: ArtifactReader;
  /** Clock in milliseconds (tests pin it). */
  now?: () => number;
  /** Where the emulated core's Module.symvers comes from (see symversFromFile). */
  symvers?: () => Promise<Buffer>;
}

export interface ForceInstallOptions {
  activated?: 0 | 1;
  priority?: number;
  count?: number;
}

/**
 * The Layer 4.5 kernel core, emulated in memory: installed, deprecated and revoked modules with
 * their timestamps, active mode, priority and socket count. Socket helpers and `revokeLocally` /
 * `forceInstall` let tests play the parts of applications and of the core itself.
 */
export class SimulatedDriver implements Driver {
  readonly kind = 'simulated' as const;
  private readonly modules = new Map<number, SimModule>();
  private readonly revoked = new Map<number, number>();
  private readonly file?: StateFile;
  private readonly readArtifact: ArtifactReader;
  private readonly now: () => number;
  private readonly loadSymvers?: () => Promise<Buffer>;

  constructor(opts: SimulatedDriverOptions = {}) {
    this.file = opts.statePath ? new StateFile(opts.statePath) : undefined;
    this.readArtifact = opts.readArtifact ?? readFromOptions;
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
    if (!this.loadSymvers) throw new DriverError('this simulated core has no Module.symvers');
    return this.loadSymvers();
  }

  async install(artifact: Buffer, opts: InstallOptions): Promise<void> {
    const { moduleId, params } = this.readArtifact(artifact, opts);
    if (this.modules.has(moduleId)) throw new DriverError(`module ${moduleId} is already loaded`);
    const activated = params.activate === undefined ? 1 : toFlag(params.activate, 'activate');
    // Range and default as in the NCO block the NCO stamps (libs/events artifact contract).
    const priority = params.priority === undefined ? PRIORITY_MIN : checkPriority(params.priority);
    const sha256 = createHash('sha256').update(artifact).digest('hex');
    // A new load under a revoked id replaces the core's revocation record.
    this.revoked.delete(moduleId);
    this.modules.set(moduleId, { id: moduleId, deprecated: false, activated, priority, count: 0, ts: this.ts(), sha256, params });
    await this.persist();
  }

  async remove(moduleId: number): Promise<void> {
    // rmmod detaches sockets still using the module; a revoked module may still be loaded.
    if (!this.modules.delete(moduleId) && !this.revoked.delete(moduleId)) {
      throw new DriverError(`module ${moduleId} is not loaded`);
    }
    await this.persist();
  }

  async toggle(moduleId: number, mode: 0 | 1): Promise<CommandResult> {
    const flag = toFlag(mode, 'mode');
    return this.answer(moduleId, (m) => (m.activated = flag));
  }

  async setPriority(moduleId: number, priority: number): Promise<CommandResult> {
    const p = checkPriority(priority);
    return this.answer(moduleId, (m) => (m.priority = p));
  }

  async deprecate(moduleId: number): Promise<CommandResult> {
    return this.answer(moduleId, (m) => {
      if (m.deprecated) return;
      m.deprecated = true;
      m.ts = this.ts();
    });
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
    this.revoked.set(moduleId, this.ts());
    this.persistLater();
  }

  /** Loads a module the NCO never built (someone ran insmod by hand). */
  forceInstall(moduleId: number, opts: ForceInstallOptions = {}): void {
    if (this.modules.has(moduleId)) throw new DriverError(`module ${moduleId} is already loaded`);
    this.revoked.delete(moduleId);
    this.modules.set(moduleId, {
      id: moduleId,
      deprecated: false,
      activated: opts.activated ?? 1,
      priority: checkPriority(opts.priority ?? PRIORITY_MIN),
      count: opts.count ?? 0,
      ts: this.ts(),
      forced: true,
      params: {},
    });
    this.persistLater();
  }

  /** A copy of one module's state, for tests and diagnostics. */
  inspect(moduleId: number): Readonly<SimModule> | undefined {
    const m = this.modules.get(moduleId);
    return m && { ...m, params: { ...m.params } };
  }

  /** Waits for state changes made by the synchronous helpers to reach the state file. */
  async flush(): Promise<void> {
    await this.persist();
  }

  private answer(moduleId: number, change: (m: SimModule) => void): Promise<CommandResult> {
    const m = this.modules.get(moduleId);
    if (!m) return Promise.resolve({ ID: moduleId, Result: 0 });
    change(m);
    return this.persist().then(() => ({ ID: moduleId, Result: 1 as const }));
  }

  private loaded(moduleId: number): SimModule {
    const m = this.modules.get(moduleId);
    if (!m) throw new DriverError(`module ${moduleId} is not loaded`);
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
    for (const r of parsed.data.revoked) this.revoked.set(r.id, r.ts);
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

function toFlag(v: ModuleParams[string], name: string): 0 | 1 {
  if (v === 1 || v === true || v === '1' || v === 'true') return 1;
  if (v === 0 || v === false || v === '0' || v === 'false') return 0;
  throw new DriverError(`${name} must be 0 or 1, got ${JSON.stringify(v)}`);
}

function checkPriority(v: ModuleParams[string]): number {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < PRIORITY_MIN || n > PRIORITY_MAX) {
    throw new DriverError(`priority must be an integer in ${PRIORITY_MIN}..${PRIORITY_MAX}, got ${JSON.stringify(v)}`);
  }
  return n;
}
