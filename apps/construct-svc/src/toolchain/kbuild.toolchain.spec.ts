import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompileError, CompileRequest, KbuildToolchain, summarizeCompileOutput, ToolchainTimeoutError, ToolchainUnavailableError } from './kbuild.toolchain';

const key = 'ab'.repeat(32);

/** Fake headers root, work root and make: no real kbuild here (see the medium test for that). */
describe('KbuildToolchain (without kbuild)', () => {
  let root: string;
  let headersRoot: string;
  let workRoot: string;
  let includeDir: string;
  let fakeMake: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'kbuild-unit-'));
    headersRoot = join(root, 'src');
    workRoot = join(root, 'work');
    includeDir = join(root, 'include');
    mkdirSync(join(headersRoot, 'linux-headers-9.9.9-test'), { recursive: true });
    writeFileSync(join(headersRoot, 'linux-headers-9.9.9-test', 'Makefile'), '');
    mkdirSync(includeDir);
    writeFileSync(join(includeDir, 'l45_nco.h'), '/* header */');
    // A "make" that starts a long-running child and waits: the timeout must kill both.
    fakeMake = join(root, 'fake-make.sh');
    writeFileSync(fakeMake, '#!/bin/sh\nsleep 30 &\necho $! > "$(dirname "$0")/child.pid"\necho "building..."\nwait\n', { mode: 0o755 });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const toolchain = (extra: Partial<ConstructorParameters<typeof KbuildToolchain>[0]> = {}) =>
    new KbuildToolchain({ headersRoot, workRoot, timeoutMs: 120_000, includeDir, ...extra });
  const request = (extra: Partial<CompileRequest> = {}): CompileRequest => ({
    moduleName: 'dns-tag',
    files: { Kbuild: 'obj-m := dns_tag.o\n', 'dns_tag.c': '// NCO VARIABLES GO HERE\nL45_NCO_VARIABLES(0, "", 1, 1, 1);\n// END NCO VARIABLES\n' },
    sourceFile: 'dns_tag.c',
    release: '9.9.9-test',
    symvers: Buffer.from(''),
    ...extra,
  });

  async function failure<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T): Promise<T> {
    try {
      await p;
    } catch (e) {
      expect(e).toBeInstanceOf(type);
      return e as T;
    }
    throw new Error(`expected ${type.name}`);
  }

  it('names the release, the missing path and the Debian package when headers are absent', async () => {
    const e = await failure(toolchain().compile(request({ release: '6.1.0-99-amd64' })), ToolchainUnavailableError);
    expect(e.release).toBe('6.1.0-99-amd64');
    expect(e.missingPath).toBe(join(headersRoot, 'linux-headers-6.1.0-99-amd64'));
    expect(e.message).toContain(`${join(headersRoot, 'linux-headers-6.1.0-99-amd64', 'Makefile')} is missing`);
    expect(e.message).toContain('install the Debian package linux-headers-6.1.0-99-amd64');
    expect(e.retriable).toBe(false);
  });

  it('mentions the mapping when a mapped release has no headers', async () => {
    const e = await failure(toolchain({ releaseMap: '6.1.0-sim-amd64=6.1.0-77-amd64' }).compile(request({ release: '6.1.0-sim-amd64' })), ToolchainUnavailableError);
    expect(e.message).toMatch(/release 6\.1\.0-77-amd64 \(mapped from 6\.1\.0-sim-amd64 by KBUILD_RELEASE_MAP\)/);
  });

  it.each(['../../../etc', '6.1/../../x', '', 'a b'])('refuses release %j before touching a path', async (release) => {
    const e = await failure(toolchain().compile(request({ release })), ToolchainUnavailableError);
    expect(e.message).toMatch(/not valid/);
    expect(existsSync(workRoot) ? readdirSync(workRoot) : []).toEqual([]);
  });

  it('refuses a bad release map at construction', () => {
    expect(() => toolchain({ releaseMap: 'a=../x' })).toThrow(/KBUILD_RELEASE_MAP/);
  });

  it.each([
    [{ files: { Kbuild: '', '../evil.c': 'x', 'dns_tag.c': 'x' } }, /must be relative and stay inside/],
    [{ files: { Kbuild: '', '/etc/passwd': 'x', 'dns_tag.c': 'x' } }, /must be relative/],
    [{ files: { Kbuild: '', 'a/../../b.c': 'x', 'dns_tag.c': 'x' } }, /must be relative/],
    [{ files: { Kbuild: '' } }, /source file "dns_tag.c" is not among/],
    [{ files: { 'dns_tag.c': 'x' } }, /no Kbuild/],
    [{ moduleName: '../x' }, /invalid module name/],
    [{ variables: { moduleId: 1, hexKey: key, activate: 1 as const, priority: 1, applyNow: true }, files: { Kbuild: '', 'dns_tag.c': 'int x;' } }, /lacks the marker line/],
  ] as Array<[Partial<CompileRequest>, RegExp]>)('refuses bad module input as a CompileError (%#)', async (extra, why) => {
    const e = await failure(toolchain().compile(request(extra)), CompileError);
    expect(`${e.message}\n${e.output}`).toMatch(why);
    expect(e.retriable).toBe(false);
  });

  it('refuses invalid NCO variables', async () => {
    await expect(toolchain().compile(request({ variables: { moduleId: 0, hexKey: key, activate: 1, priority: 1, applyNow: true } }))).rejects.toThrow(/moduleId/);
  });

  it('kills make and its children at the timeout (retriable) and removes the work dir', async () => {
    const started = Date.now();
    const e = await failure(toolchain({ makeCommand: fakeMake, timeoutMs: 700 }).compile(request()), ToolchainTimeoutError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(e.retriable).toBe(true);
    expect(e.log).toContain('building...');
    const pid = Number(readFileSync(join(root, 'child.pid'), 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    const state = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] : 'gone';
    expect(['gone', 'Z']).toContain(state);
    expect(readdirSync(workRoot)).toEqual([]);
  });

  it('reports a missing make as unavailable', async () => {
    const e = await failure(toolchain({ makeCommand: join(root, 'no-such-make') }).compile(request()), ToolchainUnavailableError);
    expect(e.message).toMatch(/is not installed/);
    expect(readdirSync(workRoot)).toEqual([]);
  });
});

describe('summarizeCompileOutput', () => {
  it('keeps error lines with context and drops the noise', () => {
    const log = [
      'make: Entering directory', 'CC [M] a.o', 'noise 1', 'noise 2', 'noise 3', 'ctx a', 'ctx b',
      "module/a.c:12:9: error: 'x' undeclared", 'after 1', 'after 2', 'after 3', 'noise 4', 'noise 5', 'noise 6', 'noise 7',
      'ERROR: modpost: "sym" [module/a.ko] undefined!', 'done',
    ].join('\n');
    const out = summarizeCompileOutput(log);
    expect(out).toContain("error: 'x' undeclared");
    expect(out).toContain('ctx a');
    expect(out).toContain('after 3');
    expect(out).toContain('"sym" [module/a.ko] undefined!');
    expect(out).not.toContain('noise 1');
    expect(out).toContain('…');
  });

  it('is bounded', () => {
    const log = Array.from({ length: 5_000 }, (_, i) => `f.c:${i}: error: ${'x'.repeat(40)}`).join('\n');
    const out = summarizeCompileOutput(log);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(8 * 1024);
    expect(out).toContain('f.c:0: error');
    expect(out).toMatch(/output truncated/);
  });

  it('keeps the tail of a log without error lines', () => {
    const log = Array.from({ length: 5_000 }, (_, i) => `line ${i}`).join('\n');
    const out = summarizeCompileOutput(log);
    expect(Buffer.byteLength(out)).toBeLessThanOrEqual(8 * 1024);
    expect(out).toContain('line 4999');
    expect(out).not.toContain('line 0\n');
  });
});
