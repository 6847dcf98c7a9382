import { NcoError } from '../errors';
import { ET_REL, readElf, SHT_PROGBITS, SHT_REL, SHT_RELA } from './elf';

/**
 * The NCO block (modules/include/l45_nco.h): a module's per-host variables in one 128-byte,
 * magic-marked block in the ELF section `.l45_nco`. The NCO compiles a module once per kernel
 * flavor with the template line, then stamps each host's copy by overwriting the block; the
 * device reads the block back to learn what it was given. Little-endian layout:
 *
 *   0  magic     char[16]  "L45-NCO-BLOCK-1\0"
 *   16 version   u32       1
 *   20 module_id u16       0 in a template (an unstamped block refuses to load)
 *   22 activate  u8        0 | 1
 *   23 apply_now u8        0 | 1
 *   24 priority  u32       1..65534
 *   28 hex_key   char[65]  64 lowercase hex digits + NUL (a 32-byte AES-256 key)
 *   93 reserved  u8[35]    zero
 *
 * The magic also appears in .rodata (the module's memcmp literal), so the block is found
 * through the section header, never by searching bytes.
 */

export const NCO_SECTION = '.l45_nco';
export const NCO_BLOCK_SIZE = 128;
export const NCO_MAGIC = Buffer.from('L45-NCO-BLOCK-1\0', 'latin1');
export const NCO_VERSION = 1;
export const NCO_START_MARKER = '// NCO VARIABLES GO HERE';
export const NCO_END_MARKER = '// END NCO VARIABLES';

const OFF_VERSION = 16;
const OFF_MODULE_ID = 20;
const OFF_ACTIVATE = 22;
const OFF_APPLY_NOW = 23;
const OFF_PRIORITY = 24;
const OFF_HEX_KEY = 28;
const HEX_KEY_LEN = 64;
const OFF_RESERVED = OFF_HEX_KEY + HEX_KEY_LEN + 1; // 93

export const MODULE_ID_MIN = 1;
export const MODULE_ID_MAX = 65535;
export const PRIORITY_MIN = 1;
export const PRIORITY_MAX = 65534;

/** The per-host variables of a customization module. */
export interface NcoVariables {
  /** 1..65535, unique per host (a u16 on the device). */
  moduleId: number;
  /** The module's 32-byte key as 64 lowercase hex digits. */
  hexKey: string;
  activate: 0 | 1;
  /** 1..65534 (stored as a u32). */
  priority: number;
  applyNow: boolean;
}

export interface NcoBlockContent extends NcoVariables {
  /** False for a compiled template (module id 0), which the kernel refuses to load. */
  stamped: boolean;
}

export interface NcoBlockLocation {
  /** File offset of the 128-byte block. */
  offset: number;
  /** Index of the `.l45_nco` section. */
  sectionIndex: number;
}

/** The module has no usable NCO block (missing, too small, wrong magic or version, relocated). */
export class NcoBlockError extends NcoError {
  constructor(message: string) {
    super('invalid_request', message);
    this.name = 'NcoBlockError';
  }
}

/** NCO variables out of range; the message names the field. */
export class InvalidNcoVariablesError extends NcoError {
  constructor(
    readonly field: keyof NcoVariables | 'variables',
    message: string,
  ) {
    super('invalid_request', `invalid NCO variables: ${message}`, { field });
    this.name = 'InvalidNcoVariablesError';
  }
}

const HEX_KEY = /^[0-9a-f]{64}$/;

/** Throws InvalidNcoVariablesError unless every field is in range. */
export function validateNcoVariables(vars: NcoVariables): void {
  if (vars === null || typeof vars !== 'object') throw new InvalidNcoVariablesError('variables', 'expected an object');
  const { moduleId, hexKey, activate, priority, applyNow } = vars;
  if (!Number.isInteger(moduleId) || moduleId < MODULE_ID_MIN || moduleId > MODULE_ID_MAX) {
    throw new InvalidNcoVariablesError('moduleId', `moduleId must be an integer in ${MODULE_ID_MIN}..${MODULE_ID_MAX}, got ${String(moduleId)}`);
  }
  if (typeof hexKey !== 'string' || !HEX_KEY.test(hexKey)) {
    throw new InvalidNcoVariablesError('hexKey', `hexKey must be ${HEX_KEY_LEN} lowercase hex digits (a 32-byte key)${typeof hexKey === 'string' ? `, got ${hexKey.length} characters` : ''}`);
  }
  if (activate !== 0 && activate !== 1) throw new InvalidNcoVariablesError('activate', `activate must be 0 or 1, got ${String(activate)}`);
  if (!Number.isInteger(priority) || priority < PRIORITY_MIN || priority > PRIORITY_MAX) {
    throw new InvalidNcoVariablesError('priority', `priority must be an integer in ${PRIORITY_MIN}..${PRIORITY_MAX}, got ${String(priority)}`);
  }
  if (typeof applyNow !== 'boolean') throw new InvalidNcoVariablesError('applyNow', `applyNow must be a boolean, got ${String(applyNow)}`);
}

/**
 * Locates the NCO block through the ELF section header `.l45_nco` (a relocatable, 64-bit,
 * little-endian object), and checks its size, magic and version, and that no relocation
 * targets the section (the loader would overwrite stamped bytes).
 */
export function findNcoBlock(ko: Buffer): NcoBlockLocation {
  const elf = readElf(ko, { type: ET_REL });
  const section = elf.sections.find((s) => s.name === NCO_SECTION);
  if (!section) throw new NcoBlockError(`the module has no ${NCO_SECTION} section (was it built with L45_NCO_VARIABLES from l45_nco.h?)`);
  if (section.type !== SHT_PROGBITS) throw new NcoBlockError(`section ${NCO_SECTION} has type ${section.type}, not PROGBITS (file bytes)`);
  if (section.size < NCO_BLOCK_SIZE) throw new NcoBlockError(`section ${NCO_SECTION} holds ${section.size} bytes, the NCO block needs ${NCO_BLOCK_SIZE}`);
  const relocated = elf.sections.find((s) => (s.type === SHT_RELA || s.type === SHT_REL) && s.info === section.index && s.size > 0);
  if (relocated) throw new NcoBlockError(`section ${NCO_SECTION} has relocations (${relocated.name}); the loader would overwrite stamped bytes`);
  const offset = section.offset;
  if (ko.compare(NCO_MAGIC, 0, NCO_MAGIC.length, offset, offset + NCO_MAGIC.length) !== 0) {
    throw new NcoBlockError(`section ${NCO_SECTION} does not start with the magic "L45-NCO-BLOCK-1"`);
  }
  const version = ko.readUInt32LE(offset + OFF_VERSION);
  if (version !== NCO_VERSION) throw new NcoBlockError(`NCO block version ${version} is not supported (expected ${NCO_VERSION})`);
  return { offset, sectionIndex: section.index };
}

/** Decodes the block at a known offset (already located by findNcoBlock). */
function decodeBlock(ko: Buffer, offset: number): NcoBlockContent {
  const moduleId = ko.readUInt16LE(offset + OFF_MODULE_ID);
  const activate = ko[offset + OFF_ACTIVATE];
  const applyNow = ko[offset + OFF_APPLY_NOW];
  const priority = ko.readUInt32LE(offset + OFF_PRIORITY);
  const hexKey = ko.toString('latin1', offset + OFF_HEX_KEY, offset + OFF_HEX_KEY + HEX_KEY_LEN);
  if (activate > 1) throw new NcoBlockError(`NCO block: activate is ${activate}, expected 0 or 1`);
  if (applyNow > 1) throw new NcoBlockError(`NCO block: apply_now is ${applyNow}, expected 0 or 1`);
  if (!HEX_KEY.test(hexKey) || ko[offset + OFF_HEX_KEY + HEX_KEY_LEN] !== 0) {
    throw new NcoBlockError(`NCO block: hex_key is not ${HEX_KEY_LEN} lowercase hex digits followed by NUL`);
  }
  return { moduleId, hexKey, activate: activate as 0 | 1, priority, applyNow: applyNow === 1, stamped: moduleId !== 0 };
}

/** Reads the NCO variables of a module (a template reads as module id 0, `stamped: false`). */
export function readNcoBlock(ko: Buffer): NcoBlockContent {
  return decodeBlock(ko, findNcoBlock(ko).offset);
}

function writeBlock(out: Buffer, offset: number, vars: NcoVariables): void {
  NCO_MAGIC.copy(out, offset);
  out.writeUInt32LE(NCO_VERSION, offset + OFF_VERSION);
  out.writeUInt16LE(vars.moduleId, offset + OFF_MODULE_ID);
  out[offset + OFF_ACTIVATE] = vars.activate;
  out[offset + OFF_APPLY_NOW] = vars.applyNow ? 1 : 0;
  out.writeUInt32LE(vars.priority, offset + OFF_PRIORITY);
  out.write(vars.hexKey, offset + OFF_HEX_KEY, HEX_KEY_LEN, 'latin1');
  out.fill(0, offset + OFF_HEX_KEY + HEX_KEY_LEN, offset + NCO_BLOCK_SIZE); // the key's NUL and reserved
}

export interface NcoStamper {
  readonly offset: number;
  readonly size: number;
  /**
   * A copy of the template with the block overwritten by `vars`; every byte outside the
   * 128-byte block is the template's. `out`, when given, must be exactly the template's size
   * and is reused (no allocation).
   */
  stamp(vars: NcoVariables, out?: Buffer): Buffer;
}

/**
 * Locates (and checks) the block of a compiled template once, for many stamps. The template
 * must be unstamped (module id 0): stamping another host's module would be a mistake. The
 * template buffer is copied, so later changes to the caller's buffer do not leak into stamps.
 */
export function createStamper(template: Buffer): NcoStamper {
  const { offset } = findNcoBlock(template);
  const current = decodeBlock(template, offset);
  if (current.stamped) {
    throw new NcoBlockError(`the template is already stamped (module id ${current.moduleId}); stamp the compiled template, not a host's module`);
  }
  const copy = Buffer.from(template);
  const size = copy.length;
  return {
    offset,
    size,
    stamp(vars: NcoVariables, out?: Buffer): Buffer {
      validateNcoVariables(vars);
      let target: Buffer;
      if (out) {
        if (out.length !== size) throw new RangeError(`output buffer holds ${out.length} bytes, the template ${size}`);
        target = out;
      } else {
        target = Buffer.allocUnsafe(size);
      }
      copy.copy(target, 0, 0, size);
      writeBlock(target, offset, vars);
      return target;
    },
  };
}

/** One stamp (locates the block each call; use createStamper for many). */
export function stampNcoBlock(template: Buffer, vars: NcoVariables, out?: Buffer): Buffer {
  validateNcoVariables(vars);
  return createStamper(template).stamp(vars, out);
}

/** The C line the kbuild toolchain writes between the markers. */
export function formatNcoVariables(vars: NcoVariables): string {
  validateNcoVariables(vars);
  return `L45_NCO_VARIABLES(${vars.moduleId}, "${vars.hexKey}", ${vars.activate}, ${vars.priority}, ${vars.applyNow ? 1 : 0});`;
}

/** The source has no usable pair of NCO markers. */
export class NcoMarkerError extends NcoError {
  constructor(message: string) {
    super('invalid_request', message);
    this.name = 'NcoMarkerError';
  }
}

function markerLine(source: string, marker: string): { start: number; end: number; eol: string } {
  const at = source.indexOf(marker);
  if (at < 0) throw new NcoMarkerError(`the source lacks the marker line "${marker}"`);
  if (source.indexOf(marker, at + marker.length) >= 0) throw new NcoMarkerError(`the marker "${marker}" appears more than once`);
  const start = source.lastIndexOf('\n', at - 1) + 1;
  const nl = source.indexOf('\n', at);
  const end = nl < 0 ? source.length : nl + 1;
  const eol = nl > 0 && source[nl - 1] === '\r' ? '\r\n' : '\n';
  return { start, end, eol };
}

/**
 * Replaces everything between the line holding `// NCO VARIABLES GO HERE` and the line holding
 * `// END NCO VARIABLES` with the variables line (the marker lines are kept). Refuses a source
 * without both markers, with a marker twice, or with them out of order.
 */
export function writeNcoVariables(source: string, vars: NcoVariables): string {
  const line = formatNcoVariables(vars);
  const open = markerLine(source, NCO_START_MARKER);
  const close = markerLine(source, NCO_END_MARKER);
  if (close.start < open.end) {
    throw new NcoMarkerError(`"${NCO_END_MARKER}" must be on a line after "${NCO_START_MARKER}"`);
  }
  return `${source.slice(0, open.end)}${line}${open.eol}${source.slice(close.start)}`;
}
