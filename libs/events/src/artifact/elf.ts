import { NcoError } from '../errors';

/**
 * A minimal ELF64 little-endian reader: enough to find a section of a kernel module (.ko, an
 * ET_REL object) by name. Pure, no I/O; every read is bounds-checked against the buffer, so a
 * truncated or hostile file gives an ElfFormatError, never an out-of-range read.
 */

export const ET_REL = 1;
export const SHT_NULL = 0;
export const SHT_PROGBITS = 1;
export const SHT_SYMTAB = 2;
export const SHT_STRTAB = 3;
export const SHT_RELA = 4;
export const SHT_NOBITS = 8;
export const SHT_REL = 9;

const EHDR_SIZE = 64;
const SHDR_SIZE = 64;
const SHN_UNDEF = 0;
const SHN_XINDEX = 0xffff;
/** A .ko has a few dozen sections; this bounds the work a hostile header can ask for. */
const MAX_SECTIONS = 65_536;

export type ElfFormatReason = 'not_elf' | 'truncated' | 'unsupported' | 'malformed';

/** The buffer is not a well-formed ELF64 little-endian file of the expected type. */
export class ElfFormatError extends NcoError {
  constructor(
    readonly reason: ElfFormatReason,
    message: string,
  ) {
    super('invalid_request', `not a valid kernel module: ${message}`, { reason });
    this.name = 'ElfFormatError';
  }
}

export interface ElfSection {
  index: number;
  name: string;
  type: number;
  flags: number;
  /** File offset of the section's bytes (meaningless for SHT_NOBITS). */
  offset: number;
  size: number;
  link: number;
  info: number;
  addralign: number;
  entsize: number;
}

export interface ElfFile {
  /** e_type: 1 = ET_REL (a .ko), 2 = ET_EXEC, 3 = ET_DYN. */
  type: number;
  /** e_machine: 62 = x86-64, 183 = AArch64, … */
  machine: number;
  sections: ElfSection[];
}

export interface ReadElfOptions {
  /** Refuse another e_type (ET_REL for a kernel module). */
  type?: number;
}

/** A u64 field as a number (two u32 reads: no BigInt on the hot path); refuses values past 2^53. */
function u64(buf: Buffer, at: number, what: string, section?: number): number {
  const hi = buf.readUInt32LE(at + 4);
  if (hi > 0x1fffff) {
    throw new ElfFormatError('malformed', `${what}${section === undefined ? '' : ` of section ${section}`} is out of range (${buf.readBigUInt64LE(at)})`);
  }
  return hi * 0x1_0000_0000 + buf.readUInt32LE(at);
}

/** Validates the ELF header and returns the section headers with their names. */
export function readElf(buf: Buffer, options: ReadElfOptions = {}): ElfFile {
  if (!Buffer.isBuffer(buf)) throw new ElfFormatError('not_elf', 'expected a Buffer');
  if (buf.length < 4 || buf[0] !== 0x7f || buf[1] !== 0x45 || buf[2] !== 0x4c || buf[3] !== 0x46) {
    throw new ElfFormatError('not_elf', buf.length < 4 ? `only ${buf.length} bytes` : 'no ELF magic (\\x7fELF) at the start');
  }
  if (buf.length < EHDR_SIZE) throw new ElfFormatError('truncated', `ELF header needs ${EHDR_SIZE} bytes, the file has ${buf.length}`);
  if (buf[4] !== 2) throw new ElfFormatError('unsupported', `ELF class ${buf[4]} (only 64-bit ELF, class 2, is supported)`);
  if (buf[5] !== 1) throw new ElfFormatError('unsupported', `ELF data encoding ${buf[5]} (only little-endian, 1, is supported)`);
  if (buf[6] !== 1) throw new ElfFormatError('unsupported', `ELF ident version ${buf[6]} (expected 1)`);
  const type = buf.readUInt16LE(16);
  const machine = buf.readUInt16LE(18);
  if (options.type !== undefined && type !== options.type) {
    throw new ElfFormatError('unsupported', `ELF type ${type}, expected ${options.type}${options.type === ET_REL ? ' (ET_REL, a relocatable kernel module)' : ''}`);
  }
  const shoff = u64(buf, 40, 'e_shoff');
  const ehsize = buf.readUInt16LE(52);
  const shentsize = buf.readUInt16LE(58);
  let shnum = buf.readUInt16LE(60);
  let shstrndx = buf.readUInt16LE(62);
  if (ehsize !== EHDR_SIZE) throw new ElfFormatError('malformed', `e_ehsize is ${ehsize}, expected ${EHDR_SIZE}`);
  if (shoff === 0) throw new ElfFormatError('malformed', 'no section header table (e_shoff = 0)');
  if (shentsize !== SHDR_SIZE) throw new ElfFormatError('malformed', `e_shentsize is ${shentsize}, expected ${SHDR_SIZE}`);
  if (shoff + SHDR_SIZE > buf.length) {
    throw new ElfFormatError('truncated', `section header table at ${shoff} lies past the end of the file (${buf.length} bytes)`);
  }
  // Extended numbering: the real counts live in section header 0.
  if (shnum === 0) shnum = u64(buf, shoff + 32, 'section count (sh_size of section 0)');
  if (shstrndx === SHN_XINDEX) shstrndx = buf.readUInt32LE(shoff + 40);
  if (shnum === 0 || shnum > MAX_SECTIONS) throw new ElfFormatError('malformed', `${shnum} sections`);
  if (shoff + shnum * SHDR_SIZE > buf.length) {
    throw new ElfFormatError('truncated', `${shnum} section headers at ${shoff} need ${shoff + shnum * SHDR_SIZE} bytes, the file has ${buf.length}`);
  }
  if (shstrndx === SHN_UNDEF || shstrndx >= shnum) {
    throw new ElfFormatError('malformed', `section name table index ${shstrndx} is not a section (of ${shnum})`);
  }

  // Bounds of the section name table first, so names are read while walking the headers once.
  const strHdr = shoff + shstrndx * SHDR_SIZE;
  if (buf.readUInt32LE(strHdr + 4) !== SHT_STRTAB) {
    throw new ElfFormatError('malformed', `section name table (section ${shstrndx}) has type ${buf.readUInt32LE(strHdr + 4)}, not STRTAB`);
  }
  const strOff = u64(buf, strHdr + 24, 'sh_offset of the section name table');
  const strSize = u64(buf, strHdr + 32, 'sh_size of the section name table');
  const strEnd = strOff + strSize;
  if (strEnd > buf.length) throw new ElfFormatError('truncated', `section name table (bytes ${strOff}..${strEnd}) lies past the end of the file (${buf.length} bytes)`);

  const sections: ElfSection[] = new Array(shnum);
  for (let i = 0; i < shnum; i++) {
    const h = shoff + i * SHDR_SIZE;
    const nameOffset = buf.readUInt32LE(h);
    if (nameOffset >= strSize) throw new ElfFormatError('malformed', `name of section ${i} starts outside the section name table`);
    const start = strOff + nameOffset;
    let nul = start;
    while (nul < strEnd && buf[nul] !== 0) nul++;
    if (nul >= strEnd) throw new ElfFormatError('malformed', `name of section ${i} is not NUL-terminated inside the section name table`);
    const s: ElfSection = {
      index: i,
      name: buf.toString('latin1', start, nul),
      type: buf.readUInt32LE(h + 4),
      flags: u64(buf, h + 8, 'sh_flags', i),
      offset: u64(buf, h + 24, 'sh_offset', i),
      size: u64(buf, h + 32, 'sh_size', i),
      link: buf.readUInt32LE(h + 40),
      info: buf.readUInt32LE(h + 44),
      addralign: u64(buf, h + 48, 'sh_addralign', i),
      entsize: u64(buf, h + 56, 'sh_entsize', i),
    };
    if (s.type !== SHT_NOBITS && s.type !== SHT_NULL && s.offset + s.size > buf.length) {
      throw new ElfFormatError('truncated', `section ${i} (bytes ${s.offset}..${s.offset + s.size}) lies past the end of the file (${buf.length} bytes)`);
    }
    sections[i] = s;
  }
  return { type, machine, sections };
}

/** The first section with that name, or undefined. Accepts a buffer (parsed here) or a parsed file. */
export function findElfSection(elf: Buffer | ElfFile, name: string, options?: ReadElfOptions): ElfSection | undefined {
  const file = Buffer.isBuffer(elf) ? readElf(elf, options) : elf;
  return file.sections.find((s) => s.name === name);
}
