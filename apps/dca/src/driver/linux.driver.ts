import { findElfSection, isNcoError, KernelReport } from '@nco/events';
import { execFile } from 'node:child_process';
import { readFile, rename, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { readArtifact } from './artifact-reader';
import { challengeMessageError } from './challenge';
import {
  ChallengeAnswer,
  CommandResult,
  Driver,
  DriverError,
  InstallOptions,
  InstallOutcome,
  ModuleParams,
  RemoveOutcome,
} from './driver';
import { parseChallengeAnswer, parseReport, parseResult, requests } from './kernel-protocol';
import { insmodParamArgs, validateModuleParams } from './module-params';
import { NetlinkTransport } from './netlink-transport';
import { StateFile } from './state-file';

/** Runs a program without a shell (child_process.execFile); rejects with `stderr` on failure. */
export type ExecFileFn = (file: string, args: string[], opts: { timeout: number }) => Promise<{ stdout: string; stderr: string }>;

export const execFileAsync: ExecFileFn = (file, args, opts) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { timeout: opts.timeout, encoding: 'utf8', maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(Object.assign(err, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });

const Installed = z.object({
  moduleId: z.number().int(),
  /** The kernel module name (`.modinfo` name=), what rmmod takes. */
  name: z.string(),
  file: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  installedAt: z.number(),
});
type Installed = z.infer<typeof Installed>;

const LocalState = z.object({
  v: z.literal(1),
  installed: z.array(Installed),
  /** Modules this agent removed (id → ts, seconds): a repeated revoke answers success. */
  revoked: z.array(z.object({ id: z.number().int(), ts: z.number() })),
});

const MAX_REVOKED = 1024;
/** A kernel module name as .modinfo carries it (rmmod refuses anything else). */
const MODULE_NAME = /^[A-Za-z0-9_-]{1,55}$/;

export interface LinuxDriverOptions {
  transport: NetlinkTransport;
  /** Where artifacts are written as `<moduleId>.ko` before insmod (DCA_MODULES_DIR). */
  modulesDir: string;
  /** The agent's record of what it installed (file, sha256, name, params), kept across restarts. */
  statePath: string;
  /** The core's Module.symvers (see symversFromFile). */
  symvers?: () => Promise<Buffer>;
  exec?: ExecFileFn;
  insmod?: string;
  rmmod?: string;
  /** How long insmod / rmmod may take (default 30 s). */
  execTimeoutMs?: number;
  now?: () => number;
}

/** The kernel module name of a .ko: the `name=` field of its `.modinfo` section. */
export function moduleNameOf(ko: Buffer): string {
  let section;
  try {
    section = findElfSection(ko, '.modinfo');
  } catch (e) {
    if (isNcoError(e)) throw new DriverError(e.message);
    throw e;
  }
  if (!section) throw new DriverError('not a valid kernel module: it has no .modinfo section');
  const fields = ko.toString('latin1', section.offset, section.offset + section.size).split('\0');
  const name = fields.find((f) => f.startsWith('name='))?.slice(5);
  if (!name) throw new DriverError('not a valid kernel module: its .modinfo has no name= field');
  if (!MODULE_NAME.test(name)) throw new DriverError(`not a valid kernel module: .modinfo name ${JSON.stringify(name.slice(0, 60))} is not a module name`);
  return name;
}

/** rmmod's words for a module that is not loaded (kmod: "Module x is not currently loaded"). */
const NOT_LOADED = /is not currently loaded/i;

/** The program itself could not be started (execFile reports the spawn error's code). */
function isMissingProgram(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/** What failed in a program run, for the NCO: its stderr, else its error. */
function execFailure(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { stderr?: string; killed?: boolean; signal?: string };
  if (err.killed) return `timed out (${err.signal ?? 'killed'})`;
  const text = (err.stderr ?? '').trim() || err.message;
  return text.length > 1000 ? `${text.slice(0, 1000)}…` : text;
}

/**
 * The driver of a real device: modules are loaded with `insmod <file> name=value …` and unloaded
 * with `rmmod <name>` (execFile, no shell), everything else goes to the Layer 4.5 core over its
 * netlink text protocol (kernel-protocol.ts) through a NetlinkTransport. The core keeps the keys
 * (they are in the loaded modules) and answers challenges itself; this driver stores only where
 * each module's file is, its hash, name and parameters.
 */
export class LinuxDriver implements Driver {
  readonly kind = 'linux' as const;
  private readonly installed = new Map<number, Installed>();
  private readonly revoked = new Map<number, number>();
  private readonly file: StateFile;
  private readonly exec: ExecFileFn;
  private readonly now: () => number;

  constructor(private readonly o: LinuxDriverOptions) {
    this.file = new StateFile(o.statePath);
    this.exec = o.exec ?? execFileAsync;
    this.now = o.now ?? Date.now;
  }

  static async open(o: LinuxDriverOptions): Promise<LinuxDriver> {
    const d = new LinuxDriver(o);
    await d.load();
    await mkdir(o.modulesDir, { recursive: true, mode: 0o700 });
    return d;
  }

  async report(): Promise<KernelReport> {
    return parseReport(await this.o.transport.request(requests.report()));
  }

  async symvers(): Promise<Buffer> {
    if (!this.o.symvers) throw new DriverError('no Module.symvers configured for the Layer 4.5 core (DCA_SYMVERS_FILE)', 'unavailable');
    return this.o.symvers();
  }

  async install(artifact: Buffer, opts: InstallOptions): Promise<InstallOutcome> {
    const info = readArtifact(artifact, opts.moduleId);
    const name = moduleNameOf(artifact);
    const params = validateModuleParams(opts.params);
    const args = insmodParamArgs(params);
    const kernel = await this.report();
    const loaded = [...kernel.Installed, ...kernel.Deprecated].some((m) => m.ID === info.moduleId);
    const mine = this.installed.get(info.moduleId);
    if (loaded) {
      if (mine?.sha256 === info.sha256) return 'unchanged';
      throw new DriverError(`module ${info.moduleId} is already loaded${mine ? ' (from another artifact)' : ''}; revoke it first`, 'conflict');
    }
    for (const other of this.installed.values()) {
      // A kernel holds one module per name: a second dns_tag would fail in insmod with EEXIST.
      if (other.moduleId !== info.moduleId && other.name === name && [...kernel.Installed, ...kernel.Deprecated].some((m) => m.ID === other.moduleId)) {
        throw new DriverError(`kernel module name ${name} is already loaded as module ${other.moduleId}; a kernel holds one module per name`, 'conflict');
      }
    }
    const path = join(this.o.modulesDir, `${info.moduleId}.ko`);
    await this.writeAtomically(path, artifact);
    try {
      await this.exec(this.o.insmod ?? 'insmod', [path, ...args], { timeout: this.o.execTimeoutMs ?? 30_000 });
    } catch (e) {
      await rm(path, { force: true });
      if (isMissingProgram(e)) throw new DriverError(`${this.o.insmod ?? 'insmod'} was not found (kmod is needed to load modules)`, 'unavailable');
      // The core refuses a taken id or priority at registration: insmod then fails with EEXIST.
      const text = execFailure(e);
      throw new DriverError(`insmod ${name} (module ${info.moduleId}) failed: ${text}`, /File exists/i.test(text) ? 'conflict' : 'invalid_request');
    }
    this.revoked.delete(info.moduleId);
    this.installed.set(info.moduleId, { moduleId: info.moduleId, name, file: path, sha256: info.sha256, size: info.size, params, installedAt: this.ts() });
    await this.persist();
    return 'installed';
  }

  async remove(moduleId: number): Promise<RemoveOutcome> {
    let rec = this.installed.get(moduleId);
    if (!rec) rec = await this.fromModulesDir(moduleId);
    if (!rec) {
      if (this.revoked.has(moduleId)) return 'already-revoked';
      const kernel = await this.report();
      const loaded = [...kernel.Installed, ...kernel.Deprecated].some((m) => m.ID === moduleId);
      if (!loaded) return kernel.Revoked.some((m) => m.ID === moduleId) ? 'already-revoked' : 'absent';
      // Loaded, but not by this agent: without its file the kernel module name is unknown.
      throw new DriverError(`module ${moduleId} was not installed by this agent (no record and no ${moduleId}.ko in ${this.o.modulesDir}), so its kernel module name is unknown`, 'not_found');
    }
    try {
      await this.exec(this.o.rmmod ?? 'rmmod', [rec.name], { timeout: this.o.execTimeoutMs ?? 30_000 });
    } catch (e) {
      if (isMissingProgram(e)) throw new DriverError(`${this.o.rmmod ?? 'rmmod'} was not found (kmod is needed to unload modules)`, 'unavailable');
      const text = execFailure(e);
      // Already unloaded (by hand, or by a reboot): what is left is deleting the file.
      if (!NOT_LOADED.test(text)) {
        throw new DriverError(`rmmod ${rec.name} (module ${moduleId}) failed: ${text}`, /in use/i.test(text) ? 'conflict' : 'invalid_request');
      }
    }
    await rm(rec.file, { force: true });
    this.installed.delete(moduleId);
    this.revoked.delete(moduleId);
    this.revoked.set(moduleId, this.ts());
    while (this.revoked.size > MAX_REVOKED) this.revoked.delete(this.revoked.keys().next().value as number);
    await this.persist();
    return 'removed';
  }

  async toggle(moduleId: number, mode: 0 | 1): Promise<CommandResult> {
    const req = requests.toggle(moduleId, mode);
    return parseResult(await this.o.transport.request(req), req, moduleId);
  }

  async setPriority(moduleId: number, priority: number): Promise<CommandResult> {
    const req = requests.priority(moduleId, priority);
    return parseResult(await this.o.transport.request(req), req, moduleId);
  }

  async deprecate(moduleId: number): Promise<CommandResult> {
    const req = requests.deprecate(moduleId);
    return parseResult(await this.o.transport.request(req), req, moduleId);
  }

  async challenge(moduleId: number, iv: Buffer, msg: Buffer): Promise<ChallengeAnswer> {
    const problem = challengeMessageError(iv, msg);
    if (problem) throw new DriverError(problem);
    const req = requests.challenge(moduleId, iv, msg);
    return parseChallengeAnswer(await this.o.transport.request(req), req);
  }

  async close(): Promise<void> {
    await this.o.transport.close();
  }

  /** What this agent installed, for diagnostics (no keys are kept here). */
  record(moduleId: number): Readonly<Installed> | undefined {
    const r = this.installed.get(moduleId);
    return r && { ...r, params: { ...r.params } };
  }

  /** A module file left in the modules dir without a record (state lost): its name from the file. */
  private async fromModulesDir(moduleId: number): Promise<Installed | undefined> {
    const path = join(this.o.modulesDir, `${moduleId}.ko`);
    let ko: Buffer;
    try {
      ko = await readFile(path);
    } catch {
      return undefined;
    }
    return { moduleId, name: moduleNameOf(ko), file: path, sha256: '', size: ko.length, params: {} as ModuleParams, installedAt: 0 };
  }

  private async writeAtomically(path: string, bytes: Buffer): Promise<void> {
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      await writeFile(tmp, bytes, { mode: 0o600 });
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new DriverError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'unavailable');
    }
  }

  private ts(): number {
    return this.now() / 1000;
  }

  private async load(): Promise<void> {
    const raw = await this.file.read();
    if (raw === undefined) return;
    const parsed = LocalState.safeParse(raw);
    if (!parsed.success) throw new DriverError(`state file ${this.file.path} is not a DCA module record: ${parsed.error.issues[0]?.message}`);
    for (const m of parsed.data.installed) this.installed.set(m.moduleId, m);
    for (const r of [...parsed.data.revoked].sort((a, b) => a.ts - b.ts)) this.revoked.set(r.id, r.ts);
  }

  private persist(): Promise<void> {
    return this.file.write({ v: 1, installed: [...this.installed.values()], revoked: [...this.revoked].map(([id, ts]) => ({ id, ts })) });
  }
}
