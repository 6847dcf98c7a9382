import { parseReportKeys, parseSigningKey, parseTrustedKeys } from '@nco/events';
import { execFile, spawnSync } from 'node:child_process';
import { KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { loadAppSettings } from './support/app-settings';
import { COMPOSE_FILE, composeSchemaProblems, ComposeService, interpolate, readCompose } from './support/compose';
import { ignoredByDockerignore, readStages, userOf } from './support/dockerfile';
import { newKeys } from './support/kustomize';
import { appHttpPorts, REPO, SERVICES } from './support/repo';
import { packagesLoadedBy } from './support/require-graph';

/**
 * deploy/: what can be checked without a Docker engine. The compose file against the Compose
 * Specification's schema and against the apps (every service, health checks on the health
 * endpoints, settings the apps accept); the Dockerfile's stages and what they copy; and the
 * image's entry point, run under node for every app name against dist/ (built by `npm test`).
 */

const ENTRYPOINT = join(REPO, 'deploy', 'entrypoint.mjs');
const run = promisify(execFile);
const PORTS = appHttpPorts();
const HTTP_APPS = [...SERVICES, 'dashboard'];
/** What Compose reads from the caller's environment without a default: the keys, made as docs/deploy.md says. */
const CALLER_ENV = newKeys();

/** Runs the entry point like the image does; resolves with the exit code and output. */
async function entrypoint(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await run(process.execPath, [ENTRYPOINT, ...args], { cwd: '/', env: { PATH: process.env.PATH, ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

/** The app a compose service runs through the entry point, if it does. */
function appOf(s: ComposeService): string | undefined {
  if (s.entrypoint?.some((a) => a.endsWith('entrypoint.mjs'))) return s.entrypoint.at(-1);
  return s.image?.includes('layer45/nco') ? s.command?.[0] : undefined;
}

describe('deploy/compose.yaml', () => {
  const raw = readCompose();
  const compose = interpolate(raw, CALLER_ENV);
  const services = compose.services;

  it('is a valid Compose file (the Compose Specification schema)', () => {
    expect(composeSchemaProblems(raw)).toEqual([]);
  });

  it('the schema check catches a misspelt key and a bad duration', () => {
    const bad = structuredClone(raw);
    (bad.services.orchestrator as Record<string, unknown>).helthcheck = bad.services.orchestrator.healthcheck;
    (bad.services.nats.healthcheck as Record<string, unknown>).interval = 'five seconds';
    const problems = composeSchemaProblems(bad).join('\n');
    expect(problems).toMatch(/orchestrator.*helthcheck/);
    expect(problems).toMatch(/nats\/healthcheck\/interval/);
  });

  it('brings up NATS, PostgreSQL, Redis, the migrations, the six services, the dashboard and simulated DCAs', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['nats', 'postgres', 'redis', 'migrate', ...HTTP_APPS, 'fleet', 'dca']));
    expect(appOf(services.fleet)).toBe('fleet');
    expect(Number(services.fleet.environment!.FLEET_SIZE)).toBeGreaterThanOrEqual(3);
    expect(appOf(services.dca)).toBe('dca');
    expect(services.nats.command).toEqual(['-c', '/etc/nats/nats.conf']);
  });

  it('gives every long-running server a health check; the services are checked on /health/ready at their port', () => {
    for (const name of ['nats', 'postgres', 'redis', ...HTTP_APPS]) {
      expect(services[name].healthcheck?.test?.[0]).toBe('CMD');
    }
    for (const app of HTTP_APPS) {
      const s = services[app];
      expect(s.healthcheck!.test).toEqual(['CMD', 'node', '/app/deploy/entrypoint.mjs', 'health', 'ready', String(PORTS[app])]);
      expect(s.environment!.HTTP_PORT).toBe(String(PORTS[app]));
      expect(s.ports).toEqual([`127.0.0.1:${PORTS[app]}:${PORTS[app]}`]);
      expect(appOf(s)).toBe(app);
    }
    expect(services.nats.healthcheck!.test.join(' ')).toMatch(/healthz\?js-enabled-only=true/);
  });

  it('starts things in order: services after NATS, PostgreSQL and the migrations; agents after the services', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, { condition }] of Object.entries(s.depends_on ?? {})) {
        expect(services[dep]).toBeDefined();
        if (condition === 'service_healthy') expect([name, dep, services[dep].healthcheck?.test?.[0]]).toEqual([name, dep, 'CMD']);
        if (condition === 'service_completed_successfully') expect(services[dep].restart).toBe('no');
      }
    }
    for (const app of SERVICES) {
      expect(services[app].depends_on).toMatchObject({ nats: { condition: 'service_healthy' }, postgres: { condition: 'service_healthy' }, migrate: { condition: 'service_completed_successfully' } });
    }
    expect(services['construct-svc'].depends_on).toMatchObject({ redis: { condition: 'service_healthy' } });
    for (const agent of ['fleet', 'dca']) {
      for (const app of SERVICES) expect(services[agent].depends_on![app]).toEqual({ condition: 'service_healthy' });
    }
  });

  it('runs every NCO container without privileges and with a read-only root file system', () => {
    for (const [name, s] of Object.entries(services).filter(([, s]) => appOf(s))) {
      expect([name, (s as { cap_drop?: string[] }).cap_drop]).toEqual([name, ['ALL']]);
      expect([name, (s as { read_only?: boolean }).read_only]).toEqual([name, true]);
    }
  });

  it('gives every app settings it accepts', () => {
    for (const [name, s] of Object.entries(services)) {
      const app = appOf(s);
      if (!app || app === 'cli') continue;
      expect(() => loadAppSettings(app, s.environment ?? {})).not.toThrow();
      void name;
    }
  });

  it.each(['NCO_KEK', 'NCO_SIGNING_KEY', 'DCA_TRUSTED_KEYS', 'NCO_REPORT_KEY', 'NCO_ENROLL_TOKEN', 'FLEET_IDENTITY_SEED'])('refuses to start without %s, naming it', (key) => {
    expect(Object.keys(CALLER_ENV).sort()).toEqual(['DCA_TRUSTED_KEYS', 'FLEET_IDENTITY_SEED', 'NCO_ENROLL_TOKEN', 'NCO_KEK', 'NCO_REPORT_KEY', 'NCO_SIGNING_KEY']);
    expect(() => interpolate(raw, { ...CALLER_ENV, [key]: undefined })).toThrow(new RegExp(`required variable ${key} is missing`));
  });

  it('deploy/new-keys.sh makes a KEK security-svc accepts and a signing key whose public half the agents trust', () => {
    const signing = parseSigningKey(CALLER_ENV.NCO_SIGNING_KEY);
    const der = (k: KeyObject | undefined) => k?.export({ format: 'der', type: 'spki' });
    expect(der(parseTrustedKeys(CALLER_ENV.DCA_TRUSTED_KEYS).get(signing.kid))).toEqual(der(signing.publicKey));
    expect(Buffer.from(CALLER_ENV.NCO_KEK, 'base64')).toHaveLength(32);
    expect(newKeys().NCO_KEK).not.toBe(CALLER_ENV.NCO_KEK);
  });

  it('signs device commands: every service has the signing key, every agent trusts its public half', () => {
    for (const app of SERVICES) expect(services[app].environment!.NCO_SIGNING_KEY).toBe(CALLER_ENV.NCO_SIGNING_KEY);
    for (const agent of ['fleet', 'dca']) {
      expect(services[agent].environment!.DCA_TRUSTED_KEYS).toBe(CALLER_ENV.DCA_TRUSTED_KEYS);
      expect(services[agent].environment!.DCA_ALLOW_UNSIGNED).toBeUndefined();
    }
    expect(services.dashboard.environment!.NCO_SIGNING_KEY).toBeUndefined();
  });

  it('keys report MACs: the orchestrator and monitor-svc, and no other service, have the X25519 report key deploy/new-keys.sh makes', () => {
    const [report, ...more] = parseReportKeys(CALLER_ENV.NCO_REPORT_KEY);
    expect(more).toEqual([]);
    expect(report.kid).toBe('ci-1-report');
    expect(report.privateKey.asymmetricKeyType).toBe('x25519');
    expect(newKeys().NCO_REPORT_KEY).not.toBe(CALLER_ENV.NCO_REPORT_KEY);
    for (const [name, s] of Object.entries(services)) {
      const expected = ['orchestrator', 'monitor-svc'].includes(name) ? CALLER_ENV.NCO_REPORT_KEY : undefined;
      expect([name, s.environment?.NCO_REPORT_KEY]).toEqual([name, expected]);
    }
  });

  it('enrolls devices at first check-in: the orchestrator and every agent share the bootstrap token; the fleet has a stable identity seed', () => {
    const token = CALLER_ENV.NCO_ENROLL_TOKEN;
    expect(token).toMatch(/^[0-9a-f]{48}$/);
    expect(newKeys().NCO_ENROLL_TOKEN).not.toBe(token);
    expect(services.orchestrator.environment!.NCO_ENROLL_TOKEN).toBe(token);
    for (const agent of ['fleet', 'dca']) expect([agent, services[agent].environment!.DCA_ENROLL_TOKEN]).toEqual([agent, token]);
    expect(services.fleet.environment!.FLEET_IDENTITY_SEED).toBe(CALLER_ENV.FLEET_IDENTITY_SEED);
    expect(Buffer.from(CALLER_ENV.FLEET_IDENTITY_SEED, 'hex')).toHaveLength(32);
    // Only the orchestrator checks the token; only the fleet derives identities from the seed.
    for (const [name, s] of Object.entries(services)) {
      if (name !== 'orchestrator') expect([name, s.environment?.NCO_ENROLL_TOKEN]).toEqual([name, undefined]);
      if (name !== 'fleet') expect([name, s.environment?.FLEET_IDENTITY_SEED]).toEqual([name, undefined]);
    }
  });

  it('builds from the Dockerfile targets that exist, and mounts files that exist', () => {
    const stages = readStages().map((s) => s.name);
    for (const s of Object.values(services).filter((s) => s.build)) {
      expect(resolve(REPO, 'deploy', s.build!.context)).toBe(REPO);
      expect(existsSync(join(REPO, s.build!.dockerfile))).toBe(true);
      expect(stages).toContain(s.build!.target);
    }
    const binds = Object.values(services).flatMap((s) => s.volumes ?? []).filter((v) => v.startsWith('.'));
    expect(binds.length).toBeGreaterThan(0);
    for (const b of binds) expect(existsSync(join(REPO, 'deploy', b.split(':')[0]))).toBe(true);
  });

  it('mounts a nats-server configuration that nats-server accepts, with JetStream', () => {
    const conf = join(REPO, 'deploy', 'nats', 'nats.conf');
    expect(readFileSync(conf, 'utf8')).toMatch(/jetstream\s*\{/);
    const check = spawnSync('nats-server', ['-c', conf, '-t'], { encoding: 'utf8' });
    expect(`${check.stdout}${check.stderr}`).toMatch(/is valid/);
    expect(check.status).toBe(0);
  });
});

describe('deploy/Dockerfile', () => {
  const stages = readStages();
  const names = stages.map((s) => s.name);

  it('builds one image with three targets on node:20-bookworm-slim; runtime is the default', () => {
    expect(names).toEqual(expect.arrayContaining(['build', 'deps', 'app', 'construct', 'dca', 'runtime']));
    expect(names.at(-1)).toBe('runtime');
    expect(readFileSync(join(REPO, 'deploy', 'Dockerfile'), 'utf8')).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
  });

  it('runs every target as the unprivileged user and ships production dependencies only', () => {
    for (const target of ['runtime', 'construct', 'dca']) expect([target, userOf(stages, target)]).toEqual([target, '10001:10001']);
    const deps = stages.find((s) => s.name === 'deps')!;
    expect(deps.instructions.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.args))).toBe(true);
    const app = stages.find((s) => s.name === 'app')!;
    const nodeModules = app.instructions.filter((i) => i.op === 'COPY' && /node_modules/.test(i.args));
    expect(nodeModules.map((i) => i.args)).toEqual(['--from=deps /app/node_modules node_modules']);
  });

  it('ships every package a program loads: each is a production dependency', async () => {
    const { dependencies } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const { stdout } = await entrypoint(['--list']);
    for (const app of stdout.trim().split('\n')) {
      const file = (await entrypoint(['--print', app])).stdout.trim();
      const loaded = packagesLoadedBy(file);
      if (app === 'orchestrator') expect([...loaded]).toEqual(expect.arrayContaining(['@nestjs/core', 'typeorm', 'nats', 'zod'])); // the walk goes deep
      const missing = [...loaded].filter((p) => !dependencies[p]);
      expect([app, missing]).toEqual([app, []]);
    }
  });

  it('gives construct the kbuild toolchain and the DCA its Linux driver tools', () => {
    const run = (name: string) => stages.find((s) => s.name === name)!.instructions.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
    expect(run('construct')).toMatch(/install .*make gcc binutils \$\{KERNEL_HEADERS\}/);
    expect(run('dca')).toMatch(/install .*python3 kmod/);
  });

  it('copies only files that exist and that .dockerignore lets into the context', () => {
    const copies = stages.flatMap((s) => s.instructions).filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
    expect(copies.length).toBeGreaterThan(5);
    for (const c of copies) {
      for (const src of c.args.split(/\s+/).slice(0, -1)) {
        expect([src, existsSync(join(REPO, src))]).toEqual([src, true]);
        expect([src, ignoredByDockerignore(src)]).toEqual([src, false]);
      }
    }
    expect(ignoredByDockerignore('node_modules')).toBe(true);
    expect(ignoredByDockerignore('apps/dca/node_modules')).toBe(true);
    expect(ignoredByDockerignore('apps/dca/src/agent/agent.spec.ts')).toBe(true);
    expect(ignoredByDockerignore('deploy/compose.yaml')).toBe(true);
    expect(ignoredByDockerignore('modules/broken/broken.c')).toBe(true);
    expect(ignoredByDockerignore('modules/dns-tag/module.json')).toBe(false);
  });
});

describe('deploy/entrypoint.mjs (the image entry point, run under node)', () => {
  const APPS = ['orchestrator', 'construct-svc', 'deploy-svc', 'revoke-svc', 'monitor-svc', 'security-svc', 'dashboard', 'dca', 'fleet', 'migrate', 'cli'];

  beforeAll(() => {
    if (!existsSync(join(REPO, 'dist', 'apps'))) throw new Error('dist/ is missing: run npm run build (npm test builds first)');
  });

  it('knows every app', async () => {
    const { code, stdout } = await entrypoint(['--list']);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').sort()).toEqual([...APPS].sort());
  });

  it.each(APPS)('--print %s resolves to a built file', async (app) => {
    const { code, stdout } = await entrypoint(['--print', app]);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(new RegExp(`^${REPO}/dist/.+\\.js$`));
    expect(existsSync(stdout.trim())).toBe(true);
  });

  // Each program really starts: it reads its settings and refuses a bad one, naming it.
  it.each([
    ...HTTP_APPS.map((app) => [app, { HTTP_PORT: 'not-a-port' }, 2, new RegExp(`^${app}: invalid configuration:[\\s\\S]*HTTP_PORT`)] as const),
    ['dca', { DCA_DRIVER: 'bogus' }, 2, /^dca: invalid configuration:[\s\S]*DCA_DRIVER/] as const,
    ['fleet', { FLEET_SIZE: '-1' }, 2, /^dca-fleet: invalid configuration:[\s\S]*FLEET_SIZE/] as const,
    ['migrate', { DATABASE_URL: 'mysql://x' }, 1, /^migrate: invalid configuration:[\s\S]*DATABASE_URL/] as const,
  ])('%s starts and refuses a bad setting (%j)', async (app, env, exitCode, message) => {
    const { code, stderr } = await entrypoint([app], env);
    expect(stderr).toMatch(message);
    expect(code).toBe(exitCode);
  });

  it('runs the CLI with its arguments', async () => {
    const { code, stdout } = await entrypoint(['cli', '--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it('health: exit 0 when /health/ready answers 200, 1 on 503', async () => {
    let status = 200;
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/health/ready' ? status : 404).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = String((server.address() as AddressInfo).port);
    try {
      expect((await entrypoint(['health', 'ready', port])).code).toBe(0);
      expect((await entrypoint(['health'], { HTTP_PORT: port })).code).toBe(0);
      status = 503;
      const down = await entrypoint(['health', 'ready', port]);
      expect(down.code).toBe(1);
      expect(down.stderr).toMatch(/503/);
    } finally {
      server.close();
    }
  });

  it('refuses an unknown app with the list, and a health check fails when nothing answers', async () => {
    const unknown = await entrypoint(['nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/unknown app "nope"[\s\S]*orchestrator, construct-svc/);
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    await new Promise((r) => server.close(r));
    const health = await entrypoint(['health', 'ready', String(port)]);
    expect(health.code).toBe(1);
    expect(health.stderr).toContain(`127.0.0.1:${port}/health/ready: ECONNREFUSED`);
  });
});
