// Compiles every app and lib with swc into dist/ (decorator metadata kept for NestJS).
// Type checking is `npm run typecheck`; this step only transpiles, so it takes a second or two.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
execFileSync(
  process.execPath,
  ['node_modules/@swc/cli/bin/swc.js', 'apps', 'libs', 'bench', '-d', 'dist', '--extensions', '.ts', '--ignore', '**/*.spec.ts,**/*.test.ts', '--quiet'],
  { stdio: 'inherit' },
);
// The dashboard's page is static (plain ES modules, no bundler): copied next to its compiled code.
cpSync('apps/dashboard/public', 'dist/apps/dashboard/public', { recursive: true });
