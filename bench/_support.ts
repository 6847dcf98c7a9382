/** What the benchmarks share: their command-line options and the kernel headers to build for. */
import { installedReleases } from '../apps/construct-svc/src/toolchain/release-map';

/** `--name <positive integer>`, or `fallback` when absent. */
export function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const v = Number(process.argv[at + 1]);
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} expects a positive integer`);
  return v;
}

/** The newest installed kernel headers release (what construct-svc builds against here). */
export async function headersRelease(): Promise<string> {
  const found = await installedReleases('/usr/src');
  if (!found.length) throw new Error('no usable /usr/src/linux-headers-*: apt-get install linux-headers-amd64');
  return found[found.length - 1];
}
