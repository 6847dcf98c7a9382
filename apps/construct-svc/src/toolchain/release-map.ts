import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Kernel releases as the toolchain sees them. A release names a headers directory
 * (`<headersRoot>/linux-headers-<release>`), so it is validated before it touches a path, and a
 * release without headers of its own (a simulated device's `6.1.0-sim-amd64`) can be built with
 * another release's headers through KBUILD_RELEASE_MAP (`from=to,from=to`).
 */

/** Characters a kernel release may hold (uname -r): no '/', no whitespace, no shell syntax. */
const RELEASE = /^[A-Za-z0-9._+~-]{1,128}$/;

export class InvalidReleaseMapError extends Error {
  constructor(message: string) {
    super(`KBUILD_RELEASE_MAP: ${message}`);
    this.name = 'InvalidReleaseMapError';
  }
}

/** Why a release string is unusable, or undefined when it is fine. */
export function releaseProblem(release: unknown): string | undefined {
  if (typeof release !== 'string') return 'a kernel release must be a string';
  if (!RELEASE.test(release)) {
    return `kernel release ${JSON.stringify(release.slice(0, 140))} is not valid (1..128 characters of A-Z a-z 0-9 . _ + ~ -)`;
  }
  if (/^\.+$/.test(release)) return `kernel release ${JSON.stringify(release)} is not valid`;
  return undefined;
}

export function isValidRelease(release: unknown): release is string {
  return releaseProblem(release) === undefined;
}

export type ReleaseMap = ReadonlyMap<string, string>;

/**
 * Parses `from=to,from=to` (spaces around entries allowed, empty string = no mapping). Refuses
 * a malformed entry, an invalid release on either side and a release mapped twice.
 */
export function parseReleaseMap(spec: string | undefined): ReleaseMap {
  const map = new Map<string, string>();
  if (spec === undefined || spec.trim() === '') return map;
  for (const raw of spec.split(',')) {
    const entry = raw.trim();
    if (entry === '') throw new InvalidReleaseMapError(`empty entry in ${JSON.stringify(spec)} (expected from=to,from=to)`);
    const parts = entry.split('=');
    if (parts.length !== 2) throw new InvalidReleaseMapError(`entry ${JSON.stringify(entry)} is not from=to`);
    const [from, to] = parts.map((p) => p.trim());
    for (const side of [from, to]) {
      const problem = releaseProblem(side);
      if (problem) throw new InvalidReleaseMapError(`entry ${JSON.stringify(entry)}: ${problem}`);
    }
    if (map.has(from)) throw new InvalidReleaseMapError(`release ${from} is mapped twice`);
    map.set(from, to);
  }
  return map;
}

/** The release whose headers build modules for `release` (itself when not mapped). */
export function headersReleaseFor(release: string, map: ReleaseMap): string {
  return map.get(release) ?? release;
}

const HEADERS_PREFIX = 'linux-headers-';

/**
 * Releases with kernel headers installed under `headersRoot`: `linux-headers-<release>`
 * directories holding a Makefile, without Debian's shared `-common` directories (which have a
 * Makefile too but cannot build a module on their own). Sorted.
 */
export async function installedReleases(headersRoot: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(headersRoot);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const found: string[] = [];
  for (const name of names) {
    if (!name.startsWith(HEADERS_PREFIX)) continue;
    const release = name.slice(HEADERS_PREFIX.length);
    if (!isValidRelease(release) || /-common(-[A-Za-z0-9]+)?$/.test(release)) continue;
    try {
      if ((await stat(join(headersRoot, name, 'Makefile'))).isFile()) found.push(release);
    } catch {
      // no Makefile: not usable
    }
  }
  return found.sort();
}
