import { NatsServerHandle, pollUntil, startNatsServer } from '@nco/events/testing';
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { ComposeService, interpolate, readCompose } from './support/compose';
import { dockerignore, readStages } from './support/dockerfile';
import { newKeys } from './support/kustomize';
import { REPO, SERVICES } from './support/repo';

/**
 * The image without a Docker engine: the `app` stage of deploy/Dockerfile carried out in a temp
 * directory (its COPY lines in order, production dependencies installed as its `deps` stage
 * does), then the stack of deploy/compose.yaml started from that directory through the image's
 * entry point, with the compose file's own environment (only the addresses and ports changed to
 * a private nats-server, a fresh database and free ports): migrations, the six services and the
 * dashboard ready, the simulated devices checked in as the CLI shows, a catalog module built and
 * deployed to every device (signed commands verified by the devices' pinned key), and every
 * program stopping cleanly on SIGTERM, as `docker stop` asks.
 */

const run = promisify(execFile);
const serverUrl = () => process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Carries out the Dockerfile's `deps` and `app` stages into `root` (the image's /app). */
function buildLayout(root: string): void {
  const stages = readStages();
  const deps = join(root, '..', 'deps');
  mkdirSync(join(deps, 'apps', 'cli'), { recursive: true });
  for (const f of ['package.json', 'package-lock.json', 'apps/cli/package.json']) copyFileSync(join(REPO, f), join(deps, f));
  const npmCi = stages.find((s) => s.name === 'deps')!.instructions.find((i) => i.op === 'RUN')!.args.split('&&')[0].trim().split(/\s+/);
  expect(npmCi.slice(0, 3)).toEqual(['npm', 'ci', '--omit=dev']);
  execFileSync('npm', [...npmCi.slice(1), '--prefer-offline'], { cwd: deps, stdio: 'pipe', timeout: 300_000 });
  // What reaches the image: the context less .dockerignore; from dist/, what was compiled from
  // such sources, less the test files the build stage deletes.
  const ignored = dockerignore();
  const inContext = (path: string) => !ignored(relative(REPO, path));
  const builtFromContext = (path: string) => {
    const rel = relative(join(REPO, 'dist'), path);
    return !/-spec\.js(\.map)?$|\.spec\.js(\.map)?$/.test(rel) && !ignored(rel.replace(/\.js(\.map)?$/, '.ts'));
  };
  for (const { op, args } of stages.find((s) => s.name === 'app')!.instructions.filter((i) => i.op === 'COPY')) {
    const parts = args.split(/\s+/);
    const from = parts[0].startsWith('--from=') ? parts.shift()!.slice('--from='.length) : undefined;
    const dest = join(root, parts.pop()!);
    for (const src of parts) {
      const source = from === 'deps' ? src.replace(/^\/app\//, `${deps}/`) : from === 'build' ? src.replace(/^\/src\//, `${REPO}/`) : join(REPO, src);
      if (!existsSync(source)) throw new Error(`${op} ${args}: ${source} does not exist`);
      mkdirSync(dirname(dest), { recursive: true });
      const filter = from === 'deps' ? undefined : from === 'build' ? builtFromContext : inContext;
      cpSync(source, dest, { recursive: true, verbatimSymlinks: true, filter });
    }
  }
}

describe('the image (deploy/Dockerfile app stage) runs the compose stack', () => {
  const root = join(mkdtempSync(join(tmpdir(), 'nco-image-')), 'app');
  const entry = join(root, 'deploy', 'entrypoint.mjs');
  const keys = newKeys('image-test');
  const compose = interpolate(readCompose(), keys).services;
  const children: Array<{ name: string; proc: ChildProcess; exit: Promise<number | null> }> = [];
  let nats: NatsServerHandle;
  let dbName: string;
  let dbUrl: string;
  const ports: Record<string, number> = {};

  /** The compose service's environment, pointed at this test's servers. */
  function environment(name: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    const env: Record<string, string> = { ...(compose[name].environment ?? {}) };
    if (env.NATS_URL) env.NATS_URL = nats.url;
    if (env.DATABASE_URL) env.DATABASE_URL = dbUrl;
    if (env.REDIS_URL) env.REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
    if (ports[name]) env.HTTP_PORT = String(ports[name]);
    return { PATH: process.env.PATH, LOG_LEVEL: 'warn', QUEUE_PREFIX: `img${dbName}`, ...env, ...extra };
  }

  /**
   * The construct stage links /usr/src/linux-headers-default to the newest headers it installed;
   * here the same link sits in a headers root of its own (this machine's /usr/src stays as is).
   */
  function headersRootLikeTheConstructImage(): string {
    const newest = readdirSync('/usr/src')
      .filter((n) => n.startsWith('linux-headers-') && !n.endsWith('-common'))
      .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }))
      .at(-1);
    if (!newest) throw new Error('no kernel headers under /usr/src: apt-get install linux-headers-amd64');
    const dir = join(dirname(root), 'usr-src');
    mkdirSync(dir, { recursive: true });
    symlinkSync(join('/usr/src', newest), join(dir, 'linux-headers-default'));
    return dir;
  }

  function start(name: string, extra: Record<string, string> = {}) {
    const s: ComposeService = compose[name];
    const proc = spawn(process.execPath, [entry, ...s.command!], { cwd: '/', env: environment(name, extra), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    void exit.then((code) => code !== 0 && code !== null && process.stderr.write(`${name} exited ${code}: ${stderr.slice(-2000)}\n`));
    children.push({ name, proc, exit });
  }

  const cli = async (...args: string[]) => (await run(process.execPath, [entry, 'cli', ...args], { cwd: '/', env: { PATH: process.env.PATH, NATS_URL: nats.url } })).stdout;

  beforeAll(async () => {
    buildLayout(root);
    nats = await startNatsServer();
    dbName = `nco_img_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: serverUrl() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${dbName}`);
    await admin.end();
    const u = new URL(serverUrl());
    u.pathname = `/${dbName}`;
    dbUrl = u.toString();
    for (const app of [...SERVICES, 'dashboard']) ports[app] = await freePort();
  }, 300_000);

  afterAll(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await nats?.close();
    if (dbName) {
      const admin = new Client({ connectionString: serverUrl() });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await admin.end();
    }
    rmSync(dirname(root), { recursive: true, force: true });
  });

  it('holds production dependencies only, and the catalog without its test fixture', () => {
    expect(existsSync(join(root, 'modules', 'dns-tag', 'module.json'))).toBe(true);
    expect(existsSync(join(root, 'modules', 'broken'))).toBe(false);
    expect(existsSync(join(root, 'node_modules', '@nestjs', 'core'))).toBe(true);
    for (const dev of ['jest', 'typescript', '@swc/core', 'nx', 'kubernetes-models']) expect([dev, existsSync(join(root, 'node_modules', dev))]).toEqual([dev, false]);
  });

  it('migrates the database (the compose migrate one-shot)', async () => {
    const { stdout } = await run(process.execPath, [entry, ...compose.migrate.command!], { cwd: '/', env: environment('migrate') });
    expect(stdout).toMatch(/^applied: \w+/);
  });

  it('starts the six services and the dashboard, each ready by its health check', async () => {
    for (const app of [...SERVICES, 'dashboard']) start(app, app === 'construct-svc' ? { KBUILD_HEADERS_ROOT: headersRootLikeTheConstructImage() } : {});
    for (const app of [...SERVICES, 'dashboard']) {
      const test = compose[app].healthcheck!.test; // CMD node /app/deploy/entrypoint.mjs health ready <port>
      await pollUntil(
        async () => {
          try {
            await run(process.execPath, [entry, ...test.slice(3, 5), String(ports[app])], { cwd: '/' });
            return true;
          } catch {
            return false;
          }
        },
        `${app} ready`,
        90_000,
        500,
      );
    }
  }, 120_000);

  it('the simulated devices check in, and the CLI lists them', async () => {
    start('fleet');
    start('dca', { DCA_STATE_DIR: join(dirname(root), 'dca-state') });
    const expected = Number(compose.fleet.environment!.FLEET_SIZE) + 1 + 1; // the fleet, its wireshark middlebox, the DCA
    const hosts = await pollUntil(
      async () => {
        const list = JSON.parse(await cli('hosts', '--json')) as Array<{ mac: string; middleboxType: string | null }>;
        return list.length === expected ? list : undefined;
      },
      `${expected} hosts`,
      60_000,
      500,
    );
    expect(hosts.map((h) => h.mac)).toContain(compose.dca.environment!.DCA_MAC);
    expect(hosts.filter((h) => h.middleboxType === 'wireshark')).toHaveLength(1);
  }, 90_000);

  it('deploys a catalog module to every device: built with the image catalog, signed, verified and installed', async () => {
    const op = JSON.parse(await cli('deploy', 'dns-tag', '--all', '--json', '--quiet', '--wait-timeout', '3m')) as { status: string; succeeded: number; failed: number };
    const devices = async () => (JSON.parse(await cli('hosts', '--json')) as Array<{ moduleCount: number; middleboxType: string | null }>).filter((h) => !h.middleboxType);
    expect(op).toMatchObject({ status: 'succeeded', succeeded: (await devices()).length, failed: 0 });
    await pollUntil(async () => (await devices()).every((h) => h.moduleCount === 1), 'one module on every device', 15_000, 250);
  }, 240_000);

  it('stops every program cleanly on SIGTERM', async () => {
    for (const c of [...children].reverse()) c.proc.kill('SIGTERM');
    const codes = await Promise.all(children.map(async (c) => [c.name, await c.exit] as const));
    expect(codes).toEqual(children.map((c) => [c.name, 0]));
  }, 60_000);
});
