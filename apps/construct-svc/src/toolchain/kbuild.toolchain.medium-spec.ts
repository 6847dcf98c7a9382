import { createStamper, findElfSection, NcoVariables, readElf, readNcoBlock } from '@nco/events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CompileError, CompileRequest, KbuildToolchain, ToolchainUnavailableError } from './kbuild.toolchain';
import { installedReleases } from './release-map';

/**
 * Real kbuild against the installed kernel headers (Debian: linux-headers-amd64) and the
 * recorded core symvers. Nothing is skipped: a machine without headers fails here, loudly.
 */
const repo = join(__dirname, '..', '..', '..', '..');
const modules = join(repo, 'modules');
const recordedSymvers = readFileSync(join(modules, 'core', 'Module.symvers.recorded'));

function moduleRequest(name: string, release: string, extra: Partial<CompileRequest> = {}): CompileRequest {
  const dir = join(modules, name);
  const meta = JSON.parse(readFileSync(join(dir, 'module.json'), 'utf8')) as { source: string };
  // Every file below the module directory (sub-folders such as inverse/ included), as the catalog stores them.
  const files = new Map<string, Buffer>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const rel = relative(dir, join(e.parentPath, e.name));
    if (e.isFile() && rel !== 'module.json') files.set(rel, readFileSync(join(dir, rel)));
  }
  return { moduleName: name, files, sourceFile: meta.source, release, symvers: recordedSymvers, ...extra };
}

function modinfo(ko: Buffer): string[] {
  const s = findElfSection(ko, '.modinfo')!;
  return ko.toString('latin1', s.offset, s.offset + s.size).split('\0').filter(Boolean);
}

const vars = (moduleId: number): NcoVariables => ({ moduleId, hexKey: moduleId.toString(16).padStart(2, '0').repeat(32).slice(0, 64), activate: 0, priority: 1000 + moduleId, applyNow: false });

describe('KbuildToolchain (real kbuild)', () => {
  let release: string;
  let workRoot: string;
  let toolchain: KbuildToolchain;

  beforeAll(async () => {
    const releases = await installedReleases('/usr/src');
    if (!releases.length) throw new Error('no kernel headers under /usr/src: apt-get install linux-headers-amd64');
    release = releases[releases.length - 1];
    workRoot = mkdtempSync(join(tmpdir(), 'kbuild-medium-'));
    toolchain = new KbuildToolchain({
      headersRoot: '/usr/src',
      workRoot,
      timeoutMs: 120_000,
      includeDir: join(modules, 'include'),
      releaseMap: `6.1.0-sim-amd64=${release}`,
    });
  });
  afterAll(() => rmSync(workRoot, { recursive: true, force: true }));
  afterEach(() => expect(readdirSync(workRoot)).toEqual([])); // every work dir is removed

  it('compiles the dns-tag template: a stripped ET_REL module with an unstamped NCO block', async () => {
    const out = await toolchain.compile(moduleRequest('dns-tag', release));
    expect(out.koName).toBe('dns_tag.ko');
    expect(out.headersRelease).toBe(release);
    expect(out.ko.length).toBeLessThan(32 * 1024); // debug info stripped (~200 KB before)
    const names = readElf(out.ko).sections.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['.l45_nco', '.modinfo', '__versions', '.gnu.linkonce.this_module']));
    expect(names.some((n) => n.startsWith('.debug_'))).toBe(false);
    expect(readNcoBlock(out.ko)).toMatchObject({ moduleId: 0, stamped: false });
    expect(modinfo(out.ko)).toEqual(expect.arrayContaining(['depends=layer4_5', 'name=dns_tag', 'license=GPL']));
    expect(modinfo(out.ko).find((l) => l.startsWith('vermagic='))).toContain(release);
    // __versions holds the core's CRCs from the recorded symvers (0x95c4b411 l45_register_customization).
    const versions = findElfSection(out.ko, '__versions')!;
    const v = out.ko.subarray(versions.offset, versions.offset + versions.size);
    expect(v.includes(Buffer.from('l45_register_customization\0'))).toBe(true);
    expect(v.includes(Buffer.from([0x11, 0xb4, 0xc4, 0x95]))).toBe(true);
    expect(out.log).toContain('MODPOST');
    expect(out.log).not.toContain(workRoot);
    expect(out.durationMs).toBeGreaterThan(0);
  });

  it('compiles with NCO variables written into the source (the per-host build)', async () => {
    const v = vars(513);
    const out = await toolchain.compile(moduleRequest('port-match', release, { variables: v }));
    expect(readNcoBlock(out.ko)).toEqual({ ...v, stamped: true });
  });

  it('a stamped template equals the per-host compile with the same variables, except the GNU build-id', async () => {
    const v = vars(77);
    const [template, host] = await Promise.all([
      toolchain.compile(moduleRequest('dns-tag', release)),
      toolchain.compile(moduleRequest('dns-tag', release, { variables: v })),
    ]);
    const stamped = createStamper(template.ko).stamp(v);
    expect(stamped.length).toBe(host.ko.length);
    const note = findElfSection(host.ko, '.note.gnu.build-id')!;
    const differing: number[] = [];
    for (let i = 0; i < stamped.length; i++) if (stamped[i] !== host.ko[i]) differing.push(i);
    expect(differing.length).toBeGreaterThan(0);
    expect(differing.every((i) => i >= note.offset && i < note.offset + note.size)).toBe(true);
  });

  it('builds a mapped release (a simulated device) with the mapped headers', async () => {
    const out = await toolchain.compile(moduleRequest('dns-tag', '6.1.0-sim-amd64', { variables: vars(7) }));
    expect(out.headersRelease).toBe(release);
    expect(readNcoBlock(out.ko)).toMatchObject({ moduleId: 7, stamped: true });
  });

  it('fails the broken module with a CompileError carrying the compiler error', async () => {
    const e = await toolchain.compile(moduleRequest('broken', release)).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CompileError);
    const err = e as CompileError;
    expect(err.retriable).toBe(false);
    expect(err.message).toMatch(new RegExp(`broken does not compile for ${release.replace(/[.+]/g, '\\$&')}`));
    expect(err.output).toContain('this_symbol_does_not_exist');
    expect(err.output).toMatch(/module\/broken\.c:\d+:\d+: error:/);
    expect(err.output).not.toContain(workRoot);
    expect(Buffer.byteLength(err.output)).toBeLessThanOrEqual(8 * 1024);
  });

  it('fails at modpost when the symvers lacks the core symbols', async () => {
    const e = await toolchain.compile(moduleRequest('dns-tag', release, { symvers: Buffer.alloc(0) })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CompileError);
    expect((e as CompileError).output).toMatch(/modpost: "l45_\w+" \[module\/dns_tag\.ko\] undefined!/);
  });

  it('refuses a release without headers', async () => {
    const e = await toolchain.compile(moduleRequest('dns-tag', '6.1.0-0-nosuch')).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ToolchainUnavailableError);
    expect((e as Error).message).toContain('linux-headers-6.1.0-0-nosuch');
  });

  it('runs two compiles in parallel without interference', async () => {
    const [a, b] = await Promise.all([
      toolchain.compile(moduleRequest('dns-tag', release, { variables: vars(101) })),
      toolchain.compile(moduleRequest('dns-tag', release, { variables: vars(202) })),
    ]);
    expect(readNcoBlock(a.ko)).toEqual({ ...vars(101), stamped: true });
    expect(readNcoBlock(b.ko)).toEqual({ ...vars(202), stamped: true });
  });
});
