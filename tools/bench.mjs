// `npm run bench -- <name> [args]`: builds, then runs dist/bench/<name>.js with the remaining
// arguments. Every bench prints its figures beside their targets and ends with one JSON line.
// BENCH_NODE_ARGS passes options to the bench's node only, e.g. BENCH_NODE_ARGS=--cpu-prof.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const benches = () =>
  readdirSync('bench')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts') && !f.endsWith('.d.ts') && !f.startsWith('_'))
    .map((f) => f.slice(0, -3))
    .sort();

const [name, ...args] = process.argv.slice(2);
if (!name || name.startsWith('-') || !/^[A-Za-z0-9_-]+$/.test(name) || !existsSync(`bench/${name}.ts`)) {
  process.stderr.write(`${name ? `unknown bench "${name}". ` : ''}usage: npm run bench -- <name> [args]\nbenches: ${benches().join(', ') || '(none)'}\n`);
  process.exit(2);
}
const build = spawnSync(process.execPath, ['tools/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
const run = spawnSync(process.execPath, [...nodeArgs, `dist/bench/${name}.js`, ...args], { stdio: 'inherit' });
process.exit(run.status ?? 1);
