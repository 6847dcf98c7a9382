#!/usr/bin/env node
// The container's entry point: one image runs every NCO program, chosen by the first argument
// (or NCO_APP). It maps the name to its compiled file under dist/ and runs it in this process,
// so signals reach the program directly (tini is PID 1 in the image and reaps what kbuild
// leaves behind).
//
//   entrypoint.mjs <app> [args…]      run it (`migrate` defaults to `up`)
//   entrypoint.mjs --print <app>      print the file <app> resolves to; exit 1 when it is missing
//   entrypoint.mjs health [ready|live] [port]
//                                     GET /health/<ready|live> on 127.0.0.1:$HTTP_PORT (the
//                                     image has no curl); exit 0 on 200, else 1
//   entrypoint.mjs --list             the app names
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));

/** App name → compiled entry file (relative to the repository or image root) and its HTTP port. */
export const APPS = {
  orchestrator: { file: 'dist/apps/orchestrator/src/main.js', port: 3001 },
  'construct-svc': { file: 'dist/apps/construct-svc/src/main.js', port: 3002 },
  'deploy-svc': { file: 'dist/apps/deploy-svc/src/main.js', port: 3003 },
  'revoke-svc': { file: 'dist/apps/revoke-svc/src/main.js', port: 3004 },
  'monitor-svc': { file: 'dist/apps/monitor-svc/src/main.js', port: 3005 },
  'security-svc': { file: 'dist/apps/security-svc/src/main.js', port: 3006 },
  dashboard: { file: 'dist/apps/dashboard/src/main.js', port: 3000 },
  dca: { file: 'dist/apps/dca/src/main.js' },
  fleet: { file: 'dist/apps/dca/src/fleet-main.js' },
  migrate: { file: 'dist/libs/cib/src/cli/migrate.js', defaultArgs: ['up'] },
  cli: { file: 'dist/apps/cli/src/main.js' },
};

const USAGE = `usage: entrypoint.mjs <app> [args…] | --print <app> | health [ready|live] [port] | --list
apps: ${Object.keys(APPS).join(', ')} (or set NCO_APP)`;

function fail(message, code = 2) {
  process.stderr.write(`entrypoint: ${message}\n${code === 2 ? `${USAGE}\n` : ''}`);
  process.exit(code);
}

function resolveApp(name) {
  const app = Object.hasOwn(APPS, name ?? '') ? APPS[name] : undefined;
  if (!app) fail(name ? `unknown app ${JSON.stringify(name)}` : 'no app given');
  const file = join(ROOT, app.file);
  if (!existsSync(file)) fail(`${name}: ${relative(process.cwd(), file) || file} is missing (build with npm run build)`, 1);
  return { ...app, path: file };
}

async function health(kind = 'ready', portArg) {
  if (kind !== 'ready' && kind !== 'live') fail(`health expects ready or live (got ${kind})`);
  const port = portArg ?? process.env.HTTP_PORT ?? APPS[process.env.NCO_APP ?? '']?.port;
  if (!port || !/^\d+$/.test(String(port))) fail('health: no port (pass it, or set HTTP_PORT or NCO_APP)');
  const url = `http://127.0.0.1:${port}/health/${kind}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    if (res.status === 200) process.exit(0);
    process.stderr.write(`${url}: ${res.status} ${(await res.text()).slice(0, 500)}\n`);
  } catch (e) {
    process.stderr.write(`${url}: ${e.cause?.code ?? e.cause?.message ?? e.message}\n`);
  }
  process.exit(1);
}

async function main(argv) {
  const [first, ...rest] = argv;
  if (first === '-h' || first === '--help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (first === '--list') {
    process.stdout.write(`${Object.keys(APPS).join('\n')}\n`);
    return;
  }
  if (first === '--print') {
    const app = resolveApp(rest[0] ?? process.env.NCO_APP);
    process.stdout.write(`${app.path}\n`);
    return;
  }
  if (first === 'health') return health(rest[0], rest[1]);

  const name = first ?? process.env.NCO_APP;
  const args = first === undefined ? [] : rest;
  const app = resolveApp(name);
  // The programs resolve their default paths (modules/, apps/dca/scripts/) from the root.
  process.chdir(ROOT);
  // The program sees itself as `node <file> [args]`, as if started directly.
  process.argv = [process.argv[0], app.path, ...(args.length ? args : app.defaultArgs ?? [])];
  await import(pathToFileURL(app.path).href);
}

main(process.argv.slice(2)).catch((e) => fail(e.stack ?? String(e), 1));
