import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describeIssues, ModuleMetadata } from '@nco/events';

export const START_MARKER = '// NCO VARIABLES GO HERE';
export const END_MARKER = '// END NCO VARIABLES';
const MAX_FILE = 1024 * 1024;
const MAX_TOTAL = 4 * 1024 * 1024;

export interface ModuleSource {
  metadata: ModuleMetadata;
  /** relative path → content */
  files: Map<string, Buffer>;
  sourceSha256: string;
}

/** A catalog module that cannot be accepted; the message says why. */
export class InvalidModuleError extends Error {}

/**
 * Validates a module: metadata, the C source present and holding both NCO markers in order,
 * a Kbuild file, inverse module files present, sizes bounded. Returns it with a hash over all
 * files (sorted), which identifies the source in build flavors.
 */
export function validateModuleSource(rawMetadata: unknown, files: Map<string, Buffer>): ModuleSource {
  const parsed = ModuleMetadata.safeParse(rawMetadata);
  if (!parsed.success) throw new InvalidModuleError(`module.json is invalid: ${describeIssues(parsed.error)}`);
  const metadata = parsed.data;
  let total = 0;
  for (const [path, content] of files) {
    if (content.length > MAX_FILE) throw new InvalidModuleError(`${path} is larger than ${MAX_FILE} bytes`);
    total += content.length;
  }
  if (total > MAX_TOTAL) throw new InvalidModuleError(`the module's files add up to more than ${MAX_TOTAL} bytes`);
  const source = files.get(metadata.source);
  if (!source) throw new InvalidModuleError(`the source ${metadata.source} named in module.json is missing`);
  const text = source.toString('utf8');
  const start = text.indexOf(START_MARKER);
  const end = text.indexOf(END_MARKER);
  if (start < 0 || end < 0) throw new InvalidModuleError(`${metadata.source} lacks the markers "${START_MARKER}" and "${END_MARKER}"`);
  if (end < start) throw new InvalidModuleError(`${metadata.source} has "${END_MARKER}" before "${START_MARKER}"`);
  if (!files.has('Kbuild') && !files.has('Makefile')) throw new InvalidModuleError('the module has no Kbuild (or Makefile)');
  for (const [type, path] of Object.entries(metadata.inverse)) {
    if (!files.has(path)) throw new InvalidModuleError(`inverse module for ${type} (${path}) is missing`);
  }
  const hash = createHash('sha256');
  for (const path of [...files.keys()].sort()) hash.update(path).update('\0').update(files.get(path)!).update('\0');
  return { metadata, files, sourceSha256: hash.digest('hex') };
}

/** Reads a module directory from disk (module.json plus every file below it). */
export function readModuleDir(dir: string): ModuleSource {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(dir, 'module.json'), 'utf8'));
  } catch (e) {
    throw new InvalidModuleError(`cannot read ${join(dir, 'module.json')}: ${(e as Error).message}`);
  }
  const files = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name !== 'module.json' && !/\.(o|ko|mod|cmd|symvers|order)$/.test(name)) files.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return validateModuleSource(raw, files);
}

/** The module directories of a catalog folder: every sub-folder holding a module.json. */
export function catalogDirs(root: string): string[] {
  return readdirSync(root)
    .map((name) => join(root, name))
    .filter((p) => statSync(p).isDirectory() && (() => { try { return statSync(join(p, 'module.json')).isFile(); } catch { return false; } })());
}
