import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ElfFormatError, ET_REL, findElfSection, readElf, SHT_PROGBITS, SHT_STRTAB } from './elf';

const ko = readFileSync(join(__dirname, '__fixtures__', 'dns_tag.template.ko'));

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ElfFormatError);
    return (e as ElfFormatError).reason;
  }
  throw new Error('expected an ElfFormatError');
}

describe('readElf', () => {
  it('lists the sections of a kernel module with their names', () => {
    const elf = readElf(ko, { type: ET_REL });
    expect(elf.type).toBe(ET_REL);
    expect(elf.machine).toBe(62); // x86-64
    const names = elf.sections.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['.text', '.modinfo', '__versions', '.l45_nco', '.gnu.linkonce.this_module', '.symtab', '.shstrtab']));
    expect(elf.sections[0]).toMatchObject({ index: 0, name: '', type: 0 });
    expect(elf.sections.find((s) => s.name === '.shstrtab')!.type).toBe(SHT_STRTAB);
  });

  it('finds a section by name: offset and size', () => {
    const s = findElfSection(ko, '.l45_nco')!;
    expect(s).toMatchObject({ type: SHT_PROGBITS, size: 128, addralign: 8 });
    expect(ko.toString('latin1', s.offset, s.offset + 15)).toBe('L45-NCO-BLOCK-1');
    const modinfo = findElfSection(ko, '.modinfo')!;
    expect(ko.toString('latin1', modinfo.offset, modinfo.offset + modinfo.size)).toContain('depends=layer4_5');
    expect(findElfSection(ko, '.nope')).toBeUndefined();
    expect(findElfSection(readElf(ko), '.l45_nco')).toEqual(s);
  });

  it('refuses what is not ELF', () => {
    expect(reason(() => readElf(Buffer.alloc(0)))).toBe('not_elf');
    expect(reason(() => readElf(Buffer.from('#!/bin/sh\necho hello\n')))).toBe('not_elf');
    expect(reason(() => readElf('x' as unknown as Buffer))).toBe('not_elf');
  });

  it('refuses 32-bit, big-endian and non-relocatable files', () => {
    const c32 = Buffer.from(ko);
    c32[4] = 1;
    expect(reason(() => readElf(c32))).toBe('unsupported');
    const be = Buffer.from(ko);
    be[5] = 2;
    expect(reason(() => readElf(be))).toBe('unsupported');
    const exec = Buffer.from(ko);
    exec.writeUInt16LE(2, 16);
    expect(reason(() => readElf(exec, { type: ET_REL }))).toBe('unsupported');
    expect(readElf(exec).type).toBe(2);
  });

  it('refuses a truncated file at every length without reading past the buffer', () => {
    expect(reason(() => readElf(ko.subarray(0, 40)))).toBe('truncated');
    for (let len = 4; len < ko.length; len += 97) {
      expect(['truncated', 'malformed']).toContain(reason(() => readElf(ko.subarray(0, len))));
    }
    expect(reason(() => readElf(ko.subarray(0, ko.length - 1)))).toBe('truncated');
  });

  it('refuses malformed headers', () => {
    const shoff = Number(ko.readBigUInt64LE(40));
    const noTable = Buffer.from(ko);
    noTable.writeBigUInt64LE(0n, 40);
    expect(reason(() => readElf(noTable))).toBe('malformed');
    const huge = Buffer.from(ko);
    huge.writeBigUInt64LE(0xffffffffffffffffn, 40);
    expect(reason(() => readElf(huge))).toBe('malformed');
    const badEnt = Buffer.from(ko);
    badEnt.writeUInt16LE(40, 58);
    expect(reason(() => readElf(badEnt))).toBe('malformed');
    const badStrndx = Buffer.from(ko);
    badStrndx.writeUInt16LE(999, 62);
    expect(reason(() => readElf(badStrndx))).toBe('malformed');
    const strndxNotStrtab = Buffer.from(ko);
    strndxNotStrtab.writeUInt16LE(3, 62);
    expect(reason(() => readElf(strndxNotStrtab))).toBe('malformed');
    const badName = Buffer.from(ko);
    badName.writeUInt32LE(0x7fffffff, shoff + 3 * 64); // sh_name of section 3
    expect(reason(() => readElf(badName))).toBe('malformed');
    const pastEnd = Buffer.from(ko);
    pastEnd.writeBigUInt64LE(BigInt(ko.length), shoff + 3 * 64 + 24); // sh_offset of section 3
    expect(reason(() => readElf(pastEnd))).toBe('truncated');
  });

  it('gives a readable message', () => {
    expect(() => readElf(Buffer.from('hello world, not a module'))).toThrow(/not a valid kernel module: no ELF magic/);
  });
});
