import { existsSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The packages a compiled program loads: follows its relative require()s through dist/
 * (transitively) and collects the bare ones (`pino`, `@nestjs/core/…` → the package name).
 * Node's own modules are left out.
 */
export function packagesLoadedBy(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/require\("([^"]+)"\)/g)) {
      if (spec.startsWith('.')) {
        const resolved = resolveRelative(dirname(file), spec);
        if (resolved) queue.push(resolved);
      } else if (!spec.startsWith('node:') && !builtinModules.includes(spec.split('/')[0])) {
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
  }
  return packages;
}

function resolveRelative(dir: string, spec: string): string | undefined {
  const base = join(dir, spec);
  for (const candidate of [base, `${base}.js`, join(base, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}
