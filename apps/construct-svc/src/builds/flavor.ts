import { createHash } from 'node:crypto';

/** A kernel flavor build: the same source, kernel release and symvers compile to the same template. */
export function flavorOf(sourceSha256: string, release: string, symversSha256: string): string {
  return createHash('sha256').update(`${sourceSha256}\0${release}\0${symversSha256}`).digest('hex').slice(0, 32);
}

/** Groups items by a key, keeping first-seen order. */
export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const g = groups.get(k);
    if (g) g.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

export function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
