import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElfFormatError, findElfSection } from './elf';
import {
  createStamper,
  findNcoBlock,
  formatNcoVariables,
  InvalidNcoVariablesError,
  NCO_BLOCK_SIZE,
  NcoBlockError,
  NcoMarkerError,
  NcoVariables,
  readNcoBlock,
  stampNcoBlock,
  writeNcoVariables,
} from './nco-block';

const template = readFileSync(join(__dirname, '__fixtures__', 'dns_tag.template.ko'));
const modulesDir = join(__dirname, '..', '..', '..', '..', 'modules');
const samples = ['dns-tag', 'port-match', 'broken'].map((name) => {
  const meta = JSON.parse(readFileSync(join(modulesDir, name, 'module.json'), 'utf8')) as { source?: string };
  const source = meta.source ?? `${name.replace(/-/g, '_')}.c`;
  return { name, source: readFileSync(join(modulesDir, name, source), 'utf8') };
});

const key = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'.repeat(2);
const vars: NcoVariables = { moduleId: 4242, hexKey: key, activate: 1, priority: 65534, applyNow: false };

function refusal(fn: () => unknown): InvalidNcoVariablesError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidNcoVariablesError);
    return e as InvalidNcoVariablesError;
  }
  throw new Error('expected InvalidNcoVariablesError');
}

describe('findNcoBlock / readNcoBlock', () => {
  it('locates the block through the .l45_nco section header, not the .rodata magic', () => {
    const section = findElfSection(template, '.l45_nco')!;
    const { offset } = findNcoBlock(template);
    expect(offset).toBe(section.offset);
    // The magic also sits elsewhere (the memcmp literal): a byte search would be ambiguous.
    const first = template.indexOf('L45-NCO-BLOCK-1');
    expect(first).toBeGreaterThanOrEqual(0);
    expect(first).not.toBe(offset);
  });

  it('reads the template block: module id 0, not stamped', () => {
    expect(readNcoBlock(template)).toEqual({
      moduleId: 0, hexKey: '0'.repeat(64), activate: 1, priority: 1, applyNow: true, stamped: false,
    });
  });

  it('refuses a module without a usable block', () => {
    const { offset } = findNcoBlock(template);
    const badMagic = Buffer.from(template);
    badMagic[offset] = 0x58;
    expect(() => readNcoBlock(badMagic)).toThrow(NcoBlockError);
    const badVersion = Buffer.from(template);
    badVersion.writeUInt32LE(2, offset + 16);
    expect(() => readNcoBlock(badVersion)).toThrow(/version 2/);
    const renamed = Buffer.from(template);
    const at = renamed.indexOf('.l45_nco\0', findElfSection(template, '.shstrtab')!.offset);
    renamed.write('.l45_xxx', at, 'latin1');
    expect(() => findNcoBlock(renamed)).toThrow(/no \.l45_nco section/);
    const badKey = Buffer.from(template);
    badKey.write('Z', offset + 28, 'latin1');
    expect(() => readNcoBlock(badKey)).toThrow(/hex_key/);
  });

  it('refuses a non-ELF or truncated buffer', () => {
    expect(() => readNcoBlock(Buffer.from('not a module'))).toThrow(ElfFormatError);
    expect(() => readNcoBlock(template.subarray(0, 1000))).toThrow(ElfFormatError);
    expect(() => createStamper(template.subarray(0, template.length - 8))).toThrow(ElfFormatError);
    expect(() => stampNcoBlock(Buffer.alloc(0), vars)).toThrow(ElfFormatError);
  });
});

describe('stamping', () => {
  it('round-trips: the stamped module reads back what was stamped', () => {
    const stamped = stampNcoBlock(template, vars);
    expect(readNcoBlock(stamped)).toEqual({ ...vars, stamped: true });
    const other = { moduleId: 1, hexKey: 'f'.repeat(64), activate: 0 as const, priority: 1, applyNow: true };
    expect(readNcoBlock(stampNcoBlock(template, other))).toEqual({ ...other, stamped: true });
  });

  it('changes only bytes inside the 128-byte block, zeroes reserved, and leaves the template alone', () => {
    const before = Buffer.from(template);
    const stamped = stampNcoBlock(template, vars);
    const { offset } = findNcoBlock(template);
    expect(stamped.length).toBe(template.length);
    expect(stamped.subarray(0, offset).equals(template.subarray(0, offset))).toBe(true);
    expect(stamped.subarray(offset + NCO_BLOCK_SIZE).equals(template.subarray(offset + NCO_BLOCK_SIZE))).toBe(true);
    expect(stamped.subarray(offset, offset + NCO_BLOCK_SIZE).equals(template.subarray(offset, offset + NCO_BLOCK_SIZE))).toBe(false);
    expect(stamped.subarray(offset + 92, offset + NCO_BLOCK_SIZE).equals(Buffer.alloc(36))).toBe(true);
    expect(template.equals(before)).toBe(true);
  });

  it('writes the documented little-endian layout', () => {
    const stamped = stampNcoBlock(template, vars);
    const { offset: o } = findNcoBlock(stamped);
    expect(stamped.toString('latin1', o, o + 16)).toBe('L45-NCO-BLOCK-1\0');
    expect(stamped.readUInt32LE(o + 16)).toBe(1);
    expect(stamped.readUInt16LE(o + 20)).toBe(4242);
    expect(stamped[o + 22]).toBe(1);
    expect(stamped[o + 23]).toBe(0);
    expect(stamped.readUInt32LE(o + 24)).toBe(65534);
    expect(stamped.toString('latin1', o + 28, o + 92)).toBe(key);
    expect(stamped[o + 92]).toBe(0);
  });

  it('zeroes reserved bytes a template may carry', () => {
    const dirty = Buffer.from(template);
    const { offset } = findNcoBlock(dirty);
    dirty.fill(0xee, offset + 93, offset + NCO_BLOCK_SIZE);
    const stamped = stampNcoBlock(dirty, vars);
    expect(stamped.subarray(offset + 93, offset + NCO_BLOCK_SIZE).equals(Buffer.alloc(35))).toBe(true);
  });

  it('a stamper reuses the block offset and an output buffer; stamps are deterministic', () => {
    const stamper = createStamper(template);
    expect(stamper.offset).toBe(findNcoBlock(template).offset);
    const out = Buffer.alloc(template.length);
    const a = stamper.stamp(vars, out);
    expect(a).toBe(out);
    expect(a.equals(stampNcoBlock(template, vars))).toBe(true);
    const b = stamper.stamp({ ...vars, moduleId: 7 });
    expect(b).not.toBe(out);
    expect(readNcoBlock(b).moduleId).toBe(7);
    expect(() => stamper.stamp(vars, Buffer.alloc(10))).toThrow(RangeError);
  });

  it('refuses to stamp a module that is already stamped', () => {
    expect(() => createStamper(stampNcoBlock(template, vars))).toThrow(/already stamped/);
  });

  it('refuses bad variables and says which field', () => {
    const stamper = createStamper(template);
    expect(refusal(() => stamper.stamp({ ...vars, moduleId: 0 })).field).toBe('moduleId');
    expect(refusal(() => stamper.stamp({ ...vars, moduleId: 65536 })).field).toBe('moduleId');
    expect(refusal(() => stamper.stamp({ ...vars, moduleId: 1.5 })).field).toBe('moduleId');
    expect(refusal(() => stamper.stamp({ ...vars, hexKey: key.toUpperCase() })).field).toBe('hexKey');
    expect(refusal(() => stamper.stamp({ ...vars, hexKey: key.slice(2) })).field).toBe('hexKey');
    expect(refusal(() => stamper.stamp({ ...vars, hexKey: `${key.slice(1)}g` })).field).toBe('hexKey');
    expect(refusal(() => stamper.stamp({ ...vars, hexKey: `${key}\n` })).field).toBe('hexKey');
    expect(refusal(() => stamper.stamp({ ...vars, priority: 0 })).field).toBe('priority');
    expect(refusal(() => stamper.stamp({ ...vars, priority: 65535 })).field).toBe('priority');
    expect(refusal(() => stamper.stamp({ ...vars, activate: 2 as 1 })).field).toBe('activate');
    expect(refusal(() => stamper.stamp({ ...vars, applyNow: 1 as unknown as boolean })).field).toBe('applyNow');
    expect(refusal(() => stampNcoBlock(template, { ...vars, moduleId: -1 })).message).toMatch(/moduleId must be an integer in 1\.\.65535, got -1/);
  });

  it('stamps 10,000 host modules (with sha256) in well under a second', () => {
    const stamper = createStamper(template);
    const started = process.hrtime.bigint();
    const digests = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const ko = stamper.stamp({ moduleId: (i % 65535) + 1, hexKey: key, activate: 1, priority: (i % 65534) + 1, applyNow: true });
      digests.add(createHash('sha256').update(ko).digest('hex'));
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(digests.size).toBe(10_000);
    expect(ms).toBeLessThan(1000);
  });
});

describe('formatNcoVariables / writeNcoVariables', () => {
  it('formats the exact C line', () => {
    expect(formatNcoVariables(vars)).toBe(`L45_NCO_VARIABLES(4242, "${key}", 1, 65534, 0);`);
    expect(formatNcoVariables({ ...vars, activate: 0, applyNow: true })).toBe(`L45_NCO_VARIABLES(4242, "${key}", 0, 65534, 1);`);
    expect(() => formatNcoVariables({ ...vars, moduleId: 0 })).toThrow(InvalidNcoVariablesError);
  });

  it.each(samples)('replaces the template line of $name and nothing else', ({ source }) => {
    const out = writeNcoVariables(source, vars);
    const line = formatNcoVariables(vars);
    expect(out).toContain(`// NCO VARIABLES GO HERE\n${line}\n// END NCO VARIABLES\n`);
    expect(out).not.toContain('L45_NCO_VARIABLES(0,');
    const [before, after] = source.split(/\/\/ NCO VARIABLES GO HERE[\s\S]*\/\/ END NCO VARIABLES/);
    expect(out.startsWith(before)).toBe(true);
    expect(out.endsWith(after)).toBe(true);
    // Idempotent: writing again replaces the previous line.
    expect(writeNcoVariables(writeNcoVariables(source, { ...vars, moduleId: 9 }), vars)).toBe(out);
  });

  it('replaces several lines between the markers and keeps CRLF line endings', () => {
    const src = 'a\r\n  // NCO VARIABLES GO HERE\r\nold 1\r\nold 2\r\n  // END NCO VARIABLES\r\nb\r\n';
    expect(writeNcoVariables(src, vars)).toBe(`a\r\n  // NCO VARIABLES GO HERE\r\n${formatNcoVariables(vars)}\r\n  // END NCO VARIABLES\r\nb\r\n`);
    expect(writeNcoVariables('// NCO VARIABLES GO HERE\n// END NCO VARIABLES', vars)).toBe(`// NCO VARIABLES GO HERE\n${formatNcoVariables(vars)}\n// END NCO VARIABLES`);
  });

  it('refuses a source without both markers, with a marker twice, or out of order', () => {
    expect(() => writeNcoVariables('int x;\n', vars)).toThrow(NcoMarkerError);
    expect(() => writeNcoVariables('// NCO VARIABLES GO HERE\nx\n', vars)).toThrow(/lacks the marker line "\/\/ END NCO VARIABLES"/);
    expect(() => writeNcoVariables('x\n// END NCO VARIABLES\n', vars)).toThrow(/lacks the marker line "\/\/ NCO VARIABLES GO HERE"/);
    expect(() => writeNcoVariables('// END NCO VARIABLES\nx\n// NCO VARIABLES GO HERE\n', vars)).toThrow(/must be on a line after/);
    expect(() => writeNcoVariables('// NCO VARIABLES GO HERE // END NCO VARIABLES\n', vars)).toThrow(/must be on a line after/);
    expect(() => writeNcoVariables('// NCO VARIABLES GO HERE\n// NCO VARIABLES GO HERE\n// END NCO VARIABLES\n', vars)).toThrow(/more than once/);
    expect(() => writeNcoVariables(samples[0].source, { ...vars, hexKey: 'xyz' })).toThrow(InvalidNcoVariablesError);
  });
});
