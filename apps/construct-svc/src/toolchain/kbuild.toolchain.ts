import { findNcoBlock, NcoBlockError, NcoError, NcoMarkerError, NcoVariables, readNcoBlock, validateNcoVariables, writeNcoVariables } from '@nco/events';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { headersReleaseFor, parseReleaseMap, releaseProblem, ReleaseMap } from './release-map';

/**
 * The kbuild toolchain: compiles one customization module against one kernel release's headers
 * and one host's (or flavor's) core Module.symvers, in a fresh work directory, and returns the
 * stripped .ko. Either with the template line left in the source (compile once, stamp per host)
 * or with the host's NCO variables written between the markers (the prototype's per-host build).
 *
 * Everything with side effects (files, processes) lives here; errors are typed so the caller
 * knows what to do: CompileError and ToolchainUnavailableError are permanent for that input,
 * ToolchainTimeoutError is transient.
 */

export interface KbuildSettings {
  /** Where kernel headers live: <headersRoot>/linux-headers-<release>. */
  headersRoot: string;
  /** Parent of the per-compile work directories (created if missing). */
  workRoot: string;
  timeoutMs: number;
  /** The shared headers (layer4_5.h, l45_nco.h), copied next to the module as ../include. */
  includeDir: string;
  /** Releases built with another release's headers: a parsed map or `from=to,from=to`. */
  releaseMap?: ReleaseMap | string;
  /** Bound on the compiler output kept in memory (the tail is kept). Default 1 MiB. */
  maxLogBytes?: number;
  makeCommand?: string;
  stripCommand?: string;
}

export interface CompileRequest {
  moduleName: string;
  /** The module's files by path relative to its directory (C sources, headers, Kbuild). */
  files: ReadonlyMap<string, Buffer | string> | Readonly<Record<string, Buffer | string>>;
  /** The file holding the NCO markers (module.json `source`). */
  sourceFile: string;
  /** The host's kernel release (uname -r). */
  release: string;
  /** The core's Module.symvers as the device reported it. */
  symvers: Buffer;
  /** Written between the markers when given; otherwise the template line is compiled as is. */
  variables?: NcoVariables;
}

export interface CompileResult {
  /** The module, stripped of debug sections. */
  ko: Buffer;
  /** File name of the module kbuild produced, e.g. dns_tag.ko. */
  koName: string;
  /** make's stdout and stderr, interleaved (bounded; work directory paths shortened). */
  log: string;
  durationMs: number;
  /** The release whose headers were used (differs from the request when mapped). */
  headersRelease: string;
}

export abstract class ToolchainError extends Error {
  /** Whether the same request may succeed later. */
  abstract readonly retriable: boolean;
}

/** The module does not build for this input (compiler or modpost error, bad source). Never retry. */
export class CompileError extends ToolchainError {
  readonly retriable = false;
  constructor(
    message: string,
    /** The useful part of the compiler output (error lines with context), at most ~8 KB. */
    readonly output: string,
    readonly moduleName: string,
    readonly release: string,
  ) {
    super(message);
    this.name = 'CompileError';
  }
}

/** No toolchain for this release (headers not installed, invalid release, make missing). */
export class ToolchainUnavailableError extends ToolchainError {
  readonly retriable = false;
  constructor(
    message: string,
    readonly release: string,
    readonly missingPath?: string,
  ) {
    super(message);
    this.name = 'ToolchainUnavailableError';
  }
}

/** The build did not finish in time; its processes were killed. Transient: retry. */
export class ToolchainTimeoutError extends ToolchainError {
  readonly retriable = true;
  constructor(
    readonly timeoutMs: number,
    readonly moduleName: string,
    readonly release: string,
    readonly log: string,
  ) {
    super(`kbuild of ${moduleName} for ${release} did not finish within ${timeoutMs} ms; killed`);
    this.name = 'ToolchainTimeoutError';
  }
}

const MODULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/;
const MAX_OUTPUT = 8 * 1024;

export class KbuildToolchain {
  private readonly releaseMap: ReleaseMap;
  private readonly maxLogBytes: number;

  constructor(private readonly settings: KbuildSettings) {
    this.releaseMap = typeof settings.releaseMap === 'string' || settings.releaseMap === undefined
      ? parseReleaseMap(settings.releaseMap)
      : settings.releaseMap;
    this.maxLogBytes = settings.maxLogBytes ?? 1024 * 1024;
    if (!(settings.timeoutMs > 0)) throw new RangeError(`timeoutMs must be positive, got ${settings.timeoutMs}`);
  }

  /** The headers directory for a host release (after mapping), validated; throws ToolchainUnavailableError. */
  async headersFor(release: string): Promise<{ headersRelease: string; headersDir: string }> {
    const problem = releaseProblem(release);
    if (problem) throw new ToolchainUnavailableError(problem, String(release));
    const headersRelease = headersReleaseFor(release, this.releaseMap);
    const headersDir = join(resolve(this.settings.headersRoot), `linux-headers-${headersRelease}`);
    const makefile = join(headersDir, 'Makefile');
    if (!(await isFile(makefile))) {
      const mapped = headersRelease !== release ? ` (mapped from ${release} by KBUILD_RELEASE_MAP)` : '';
      throw new ToolchainUnavailableError(
        `no kernel headers for release ${headersRelease}${mapped}: ${makefile} is missing; install the Debian package ` +
          `linux-headers-${headersRelease}${mapped ? '' : ', or map the release to one with headers in KBUILD_RELEASE_MAP (from=to)'}`,
        release,
        headersDir,
      );
    }
    return { headersRelease, headersDir };
  }

  async compile(req: CompileRequest): Promise<CompileResult> {
    const started = Date.now();
    const { moduleName, release } = req;
    if (typeof moduleName !== 'string' || !MODULE_NAME.test(moduleName)) {
      throw new CompileError(`invalid module name ${JSON.stringify(moduleName)}`, `invalid module name ${JSON.stringify(moduleName)}`, String(moduleName), String(release));
    }
    const { headersRelease, headersDir } = await this.headersFor(release);
    if (req.variables) validateNcoVariables(req.variables);
    const files = this.prepareFiles(req);

    await mkdir(this.settings.workRoot, { recursive: true });
    const workDir = join(resolve(this.settings.workRoot), `kbuild-${moduleName}-${randomBytes(6).toString('hex')}`);
    const moduleDir = join(workDir, 'module');
    try {
      await mkdir(moduleDir, { recursive: true });
      await cp(this.settings.includeDir, join(workDir, 'include'), { recursive: true });
      for (const [rel, content] of files) {
        const target = join(moduleDir, rel);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, content);
      }
      const symversPath = join(workDir, 'core.Module.symvers');
      await writeFile(symversPath, req.symvers);

      const deadline = started + this.settings.timeoutMs;
      const make = await this.run(
        this.settings.makeCommand ?? 'make',
        ['-C', headersDir, `M=${moduleDir}`, `KBUILD_EXTRA_SYMBOLS=${symversPath}`, 'modules'],
        deadline,
        { moduleName, release },
      );
      const log = shorten(make.output, workDir);
      if (make.code !== 0) {
        throw new CompileError(
          `${moduleName} does not compile for ${release}${headersRelease !== release ? ` (headers ${headersRelease})` : ''}: make exited with ${make.signal ?? make.code}`,
          summarizeCompileOutput(log),
          moduleName,
          release,
        );
      }
      const built = await this.builtModule(moduleDir);
      if (built.length !== 1) {
        const msg = built.length === 0
          ? `kbuild produced no .ko for ${moduleName} (check obj-m in its Kbuild)`
          : `kbuild produced ${built.length} modules for ${moduleName} (${built.map((b) => b.split(sep).pop()).join(', ')}); exactly one is expected`;
        throw new CompileError(msg, `${msg}\n${summarizeCompileOutput(log)}`, moduleName, release);
      }
      const stripped = `${built[0]}.stripped`;
      const strip = await this.run(this.settings.stripCommand ?? 'strip', ['--strip-debug', '-o', stripped, built[0]], deadline, { moduleName, release });
      if (strip.code !== 0) {
        throw new CompileError(`strip --strip-debug failed for ${moduleName}`, summarizeCompileOutput(shorten(strip.output, workDir)), moduleName, release);
      }
      const ko = await readFile(stripped);
      this.checkBlock(ko, req);
      return { ko, koName: built[0].split(sep).pop()!, log, durationMs: Date.now() - started, headersRelease };
    } finally {
      await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /** Validates paths and writes the NCO variables into the source when given. */
  private prepareFiles(req: CompileRequest): Array<[string, Buffer | string]> {
    const entries: Array<[string, Buffer | string]> = req.files instanceof Map
      ? [...(req.files as ReadonlyMap<string, Buffer | string>)]
      : Object.entries(req.files as Record<string, Buffer | string>);
    const refuse = (why: string) => new CompileError(`${req.moduleName} cannot be built: ${why}`, why, req.moduleName, req.release);
    const out: Array<[string, Buffer | string]> = [];
    let source = false;
    let kbuild = false;
    for (const [rel, content] of entries) {
      const clean = normalize(rel);
      if (!rel || isAbsolute(rel) || clean !== rel.replace(/\/+$/, '') || clean === '.' || clean.split(sep).includes('..')) {
        throw refuse(`file path ${JSON.stringify(rel)} must be relative and stay inside the module directory`);
      }
      if (rel === 'Kbuild' || rel === 'Makefile') kbuild = true;
      if (rel === req.sourceFile) {
        source = true;
        if (req.variables) {
          try {
            out.push([rel, writeNcoVariables(Buffer.isBuffer(content) ? content.toString('utf8') : content, req.variables)]);
          } catch (e) {
            if (e instanceof NcoMarkerError) throw refuse(`${rel}: ${e.message}`);
            throw e;
          }
          continue;
        }
      }
      out.push([rel, content]);
    }
    if (!source) throw refuse(`the source file ${JSON.stringify(req.sourceFile)} is not among the module's files`);
    if (!kbuild) throw refuse('the module has no Kbuild (or Makefile)');
    return out;
  }

  /** The .ko files kbuild built: from modules.order, else every *.ko in the module directory. */
  private async builtModule(moduleDir: string): Promise<string[]> {
    try {
      const order = await readFile(join(moduleDir, 'modules.order'), 'utf8');
      const listed = order.split('\n').map((l) => l.trim()).filter(Boolean)
        .map((l) => (isAbsolute(l) ? l : join(moduleDir, l)).replace(/\.o$/, '.ko'));
      const present = [];
      for (const p of listed) if (await isFile(p)) present.push(p);
      if (present.length) return present;
    } catch {
      // fall back to a scan
    }
    const found: string[] = [];
    const walk = async (d: string) => {
      for (const e of await readdir(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(join(d, e.name));
        else if (e.name.endsWith('.ko')) found.push(join(d, e.name));
      }
    };
    await walk(moduleDir);
    return found.sort();
  }

  /** The built module must carry an NCO block (and, for a per-host build, the host's variables). */
  private checkBlock(ko: Buffer, req: CompileRequest): void {
    try {
      findNcoBlock(ko);
      if (req.variables) {
        const { stamped: _, ...got } = readNcoBlock(ko);
        const want = req.variables;
        if (got.moduleId !== want.moduleId || got.hexKey !== want.hexKey || got.activate !== want.activate || got.priority !== want.priority || got.applyNow !== want.applyNow) {
          throw new NcoBlockError(`the built block holds module id ${got.moduleId}, not the variables written (module id ${want.moduleId})`);
        }
      }
    } catch (e) {
      if (!(e instanceof NcoError)) throw e;
      const why = `the built module has no usable NCO block: ${e.message} (the source must use L45_NCO_VARIABLES from l45_nco.h between the markers)`;
      throw new CompileError(`${req.moduleName}: ${why}`, why, req.moduleName, req.release);
    }
  }

  /**
   * Runs a command without a shell in its own process group, output captured (bounded), killed
   * with its whole group at the deadline.
   */
  private run(
    command: string,
    args: string[],
    deadline: number,
    ctx: { moduleName: string; release: string },
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
    return new Promise((resolvePromise, reject) => {
      const remaining = deadline - Date.now();
      const chunks: Buffer[] = [];
      let kept = 0;
      let dropped = 0;
      const keep = (b: Buffer) => {
        chunks.push(b);
        kept += b.length;
        while (kept > this.maxLogBytes && chunks.length > 1) {
          const first = chunks.shift()!;
          kept -= first.length;
          dropped += first.length;
        }
      };
      const output = () => (dropped ? `[… ${dropped} bytes of output dropped …]\n` : '') + Buffer.concat(chunks).toString('utf8');
      if (remaining <= 0) {
        reject(new ToolchainTimeoutError(this.settings.timeoutMs, ctx.moduleName, ctx.release, ''));
        return;
      }
      const child = spawn(command, args, {
        detached: true, // own process group: the timeout kills make and every compiler it started
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...withoutMakeFlags(process.env), LC_ALL: 'C', LANG: 'C' },
      });
      let timedOut = false;
      let settled = false;
      let grace: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child.pid);
        // A process that left the group could hold the pipes open: do not wait for it.
        grace = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          finish(() => reject(new ToolchainTimeoutError(this.settings.timeoutMs, ctx.moduleName, ctx.release, output())));
        }, 2_000);
        grace.unref();
      }, remaining);
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (grace) clearTimeout(grace);
        fn();
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', (e: NodeJS.ErrnoException) => {
        finish(() => {
          if (e.code === 'ENOENT') {
            reject(new ToolchainUnavailableError(`${command} is not installed (needed to build kernel modules; Debian packages make and binutils)`, ctx.release, command));
          } else reject(e);
        });
      });
      child.on('close', (code, signal) => {
        finish(() => {
          if (timedOut) reject(new ToolchainTimeoutError(this.settings.timeoutMs, ctx.moduleName, ctx.release, output()));
          else resolvePromise({ code, signal, output: output() });
        });
      });
    });
  }
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function withoutMakeFlags(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env };
  // An outer make's jobserver or flags must not leak into kbuild.
  for (const k of ['MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'KBUILD_EXTRA_SYMBOLS', 'KBUILD_OUTPUT', 'M', 'O', 'V']) delete copy[k];
  return copy;
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Replaces the random work directory in paths so messages read `module/dns_tag.c:12: …`. */
function shorten(output: string, workDir: string): string {
  return output.split(`${workDir}/`).join('').split(workDir).join('.');
}

const INTERESTING = /\berror\b|\bERROR\b|undefined!|\*\*\*|fatal|Error \d+/i;

/**
 * The useful part of a compiler log: the lines that report errors with two lines of context
 * before and three after (overlaps merged), at most ~8 KB. Without such lines, the log's tail.
 */
export function summarizeCompileOutput(log: string, maxBytes = MAX_OUTPUT): string {
  const lines = log.split('\n');
  const keep = new Set<number>();
  lines.forEach((line, i) => {
    if (!INTERESTING.test(line)) return;
    for (let j = Math.max(0, i - 2); j <= Math.min(lines.length - 1, i + 3); j++) keep.add(j);
  });
  let text: string;
  if (keep.size === 0) {
    text = log.trim();
  } else {
    const parts: string[] = [];
    let prev = -2;
    for (const i of [...keep].sort((a, b) => a - b)) {
      if (i !== prev + 1 && parts.length) parts.push('…');
      parts.push(lines[i]);
      prev = i;
    }
    text = parts.join('\n').trim();
  }
  const bytes = Buffer.from(text);
  if (bytes.length <= maxBytes) return text;
  if (keep.size === 0) {
    // No error lines: the end of the log says most about what failed.
    return `[… output truncated …]\n${bytes.subarray(bytes.length - (maxBytes - 32)).toString('utf8').replace(/^\uFFFD+/, '')}`;
  }
  // The first errors matter most (later ones often follow from them): keep the head.
  return `${bytes.subarray(0, maxBytes - 32).toString('utf8').replace(/\uFFFD+$/, '')}\n[… output truncated …]`;
}
