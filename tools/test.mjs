// `npm test [-- --tier unit|medium|e2e] [jest args]`: builds, then runs Jest (all tiers by default).
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const tierAt = args.indexOf('--tier');
const jestArgs = [...args];
if (tierAt >= 0) {
  jestArgs.splice(tierAt, 2, '--selectProjects', args[tierAt + 1]);
}
const build = spawnSync(process.execPath, ['tools/build.mjs'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const res = spawnSync(process.execPath, ['node_modules/jest/bin/jest.js', '--maxWorkers=2', ...jestArgs], {
  stdio: 'inherit',
  env: { ...process.env, NX_NO_CLOUD: 'true' },
});
process.exit(res.status ?? 1);
