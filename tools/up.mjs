#!/usr/bin/env node
// `npm start [-- --devices N] [-- --middleboxes wireshark:1] [-- --no-fleet]`: the whole NCO on
// this machine, in the foreground until Ctrl-C.
//
//   1. PostgreSQL, Redis and nats-server (JetStream) must answer; a local one that does not is
//      started with its Debian command (when DATABASE_URL / REDIS_URL / NATS_URL are set, they
//      are only checked). These keep running after Ctrl-C.
//   2. Build when a source is newer than dist/ (--no-build skips it), create the database if
//      missing, migrate.
//   3. The six services as child processes, HTTP_PORT 3001..3006, each line prefixed with its
//      name; each must answer GET /health/ready with 200 in time.
//   4. The live web dashboard (apps/dashboard) on DASHBOARD_PORT (default 3000), read-only.
//   5. The fleet simulator with --devices simulated DCAs (default 3) and --middleboxes.
//   6. A banner with the URLs (the dashboard first) and what to try next.
//
// Ctrl-C (or SIGTERM) sends SIGTERM to every child, waits for them, then exits 0. A child that
// exits on its own stops everything and exits 1, naming it; so does a service that is not ready.
import { spawn, spawnSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
process.chdir(ROOT);

/** The services, in the order their HTTP ports are numbered. */
export const SERVICES = [
  { name: 'orchestrator', port: 3001 },
  { name: 'construct-svc', port: 3002 },
  { name: 'deploy-svc', port: 3003 },
  { name: 'revoke-svc', port: 3004 },
  { name: 'monitor-svc', port: 3005 },
  { name: 'security-svc', port: 3006 },
];

/** The dashboard: started once the services answer (its first page asks them for the fleet). */
const DASHBOARD = { name: 'dashboard', port: Number(process.env.DASHBOARD_PORT || 3000) };

const USAGE = `usage: npm start [-- options]   (or: node tools/up.mjs [options])

Brings PostgreSQL, Redis, NATS, the six NCO services and a fleet of simulated DCAs up on this
machine and stays in the foreground; Ctrl-C stops the services and the fleet.

options:
  --devices <n>          simulated DCAs in the fleet (default 3)
  --middleboxes <spec>   extra middlebox DCAs, e.g. wireshark:1,ids:1
  --no-fleet             start no fleet
  --no-demo              do not deploy dns-tag to the fleet once it is online
  --no-build             use dist/ as it is (default: rebuild when a source is newer)
  --ready-timeout <s>    how long each service may take to become ready (default 90)
  -h, --help             this text

settings: DATABASE_URL, REDIS_URL, NATS_URL (set = use that server, only check it), DASHBOARD_PORT
(default 3000), LOG_LEVEL,
LOG_FORMAT (default pretty here), NCO_KEK (default: a development key kept in
~/.config/nco/dev-kek), NCO_SIGNING_KEY_FILE (default: ~/.config/nco/dev-signing-key; the fleet
trusts its public half), NCO_REPORT_KEY_FILE (default: ~/.config/nco/dev-report-key), and every service setting in the README.
`;

// ---------------------------------------------------------------------------------------------
// output

const COLORS = [36, 33, 35, 32, 34, 31, 90];
const tty = process.stdout.isTTY;
const paint = (i, text) => (tty ? `\x1b[${COLORS[i % COLORS.length]}m${text}\x1b[0m` : text);
const say = (text) => process.stdout.write(`${paint(6, 'up')}            | ${text}\n`);
const bold = (text) => (tty ? `\x1b[1m${text}\x1b[0m` : text);

function redact(url) {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

// ---------------------------------------------------------------------------------------------
// arguments

function parseOptions(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        devices: { type: 'string' },
        middleboxes: { type: 'string' },
        'no-fleet': { type: 'boolean' },
        'no-demo': { type: 'boolean' },
        'no-build': { type: 'boolean' },
        'ready-timeout': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`up: ${e.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const devices = values.devices ?? '3';
  if (!/^\d+$/.test(devices) || Number(devices) > 100_000) usage(`--devices expects a whole number from 0 to 100000 (got ${devices})`);
  if (values.middleboxes !== undefined && !/^[a-z][a-z0-9_-]{0,31}:\d+(,[a-z][a-z0-9_-]{0,31}:\d+)*$/.test(values.middleboxes)) {
    usage(`--middleboxes expects type:count[,type:count], like wireshark:1 (got ${values.middleboxes})`);
  }
  const readyTimeout = values['ready-timeout'] ?? '90';
  if (!/^\d+$/.test(readyTimeout) || Number(readyTimeout) < 1) usage(`--ready-timeout expects seconds (got ${readyTimeout})`);
  return {
    devices: Number(devices),
    middleboxes: values.middleboxes,
    fleet: !values['no-fleet'],
    // Above 1,000 devices the demo is left to the operator (nco deploy dns-tag --all).
    demo: !values['no-demo'] && !values['no-fleet'] && Number(devices) > 0 && Number(devices) <= 1000,
    build: !values['no-build'],
    readyTimeoutMs: Number(readyTimeout) * 1000,
  };
}

function usage(message) {
  process.stderr.write(`up: ${message}\n\n${USAGE}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// infrastructure: PostgreSQL, Redis, NATS

const INFRA = [
  {
    name: 'PostgreSQL',
    env: 'DATABASE_URL',
    fallback: 'postgres://postgres@127.0.0.1:5432/nco',
    start: 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start',
    bin: 'pg_ctlcluster',
    pkg: 'postgresql',
    dirs: [],
  },
  {
    name: 'Redis',
    env: 'REDIS_URL',
    fallback: 'redis://127.0.0.1:6379',
    start: 'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log',
    bin: 'redis-server',
    pkg: 'redis-server',
    dirs: ['/var/lib/redis', '/var/log/redis'],
  },
  {
    name: 'NATS',
    env: 'NATS_URL',
    fallback: 'nats://127.0.0.1:4222',
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log',
    bin: '/usr/sbin/nats-server',
    pkg: 'nats-server',
    dirs: ['/var/lib/nats-server'],
  },
];

/** Whether something accepts TCP connections at the URL's host and port. */
function answers(url, timeoutMs = 1500) {
  const u = new URL(url.split(',')[0].trim());
  const port = Number(u.port) || { 'postgres:': 5432, 'postgresql:': 5432, 'redis:': 6379, 'nats:': 4222 }[u.protocol];
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname.replace(/^\[|\]$/g, ''), port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      resolve(false);
    });
  });
}

async function waitFor(check, timeoutMs, everyMs = 300) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

async function ensureInfra() {
  const urls = {};
  for (const s of INFRA) {
    const given = process.env[s.env];
    const url = given || s.fallback;
    urls[s.env] = url;
    if (await answers(url)) continue;
    if (given) fatal(`${s.name} at ${redact(url)} (${s.env}) does not answer: start it, or unset ${s.env} to use a local one`);
    if (spawnSync('sh', ['-c', `command -v ${s.bin}`], { stdio: 'ignore' }).status !== 0) {
      fatal(`${s.name} does not answer at ${redact(url)} and is not installed (no ${s.bin}): apt-get install -y ${s.pkg}, or set ${s.env} to a running server`);
    }
    say(`${s.name} does not answer at ${redact(url)}; starting it: ${s.start}`);
    for (const d of s.dirs) mkdirSync(d, { recursive: true });
    const run = spawnSync('sh', ['-c', s.start], { stdio: 'inherit' });
    if (run.status !== 0) fatal(`could not start ${s.name} (\`${s.start}\` ${run.error ? `failed: ${run.error.message}` : `exited ${run.status}`}); start it yourself or set ${s.env}`);
    if (!(await waitFor(() => answers(url), 30_000))) fatal(`${s.name} was started but does not answer at ${redact(url)} after 30 s`);
  }
  await checkJetStream(urls.NATS_URL);
  return urls;
}

async function checkJetStream(url) {
  const { connect } = await import('nats');
  let nc;
  try {
    nc = await connect({ servers: url.split(',').map((s) => s.trim()), user: process.env.NATS_USER, pass: process.env.NATS_PASS, token: process.env.NATS_TOKEN, timeout: 5000 });
  } catch (e) {
    fatal(`NATS at ${url} answers but refuses the connection (${e.message}): check NATS_USER/NATS_PASS/NATS_TOKEN`);
  }
  try {
    await (await nc.jetstreamManager()).getAccountInfo();
  } catch (e) {
    fatal(`NATS at ${url} has no JetStream (${e.message}): run nats-server with -js`);
  } finally {
    await nc.close();
  }
}

/** Creates the database named in DATABASE_URL when it does not exist yet. */
async function ensureDatabase(url) {
  const { default: pg } = await import('pg');
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.slice(1)) || 'postgres';
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString(), connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount === 0) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      say(`created database ${name}`);
    }
  } catch (e) {
    fatal(`cannot prepare database ${name} at ${redact(url)}: ${e.message}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// build and migrate

/** Whether any source changed since the last build (dist/ is recreated by every build). */
function buildIsStale() {
  if (!existsSync('dist')) return true;
  const builtAt = statSync('dist').mtimeMs;
  const newer = (dir) =>
    existsSync(dir) &&
    readdirSync(dir, { withFileTypes: true }).some((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return e.name !== 'node_modules' && newer(p);
      return (e.name.endsWith('.ts') || p.includes('dashboard/public')) && statSync(p).mtimeMs > builtAt;
    });
  return ['apps', 'libs', 'bench'].some(newer);
}

function build() {
  if (!buildIsStale()) {
    say('dist/ is up to date with the sources');
    return;
  }
  say('building (tools/build.mjs)');
  const run = spawnSync(process.execPath, ['tools/build.mjs'], { stdio: 'inherit' });
  if (run.status !== 0) fatal(`the build failed (exit ${run.status}); see above`);
}

function migrate(env) {
  const script = 'dist/libs/cib/src/cli/migrate.js';
  if (!existsSync(script)) fatal(`${script} is missing: run npm run build`);
  const run = spawnSync(process.execPath, [script, 'up'], { env, encoding: 'utf8' });
  if (run.status !== 0) fatal(`migrations failed: ${(run.stderr || run.stdout || '').trim() || `exit ${run.status}`}`);
  say(`migrations: ${run.stdout.trim()}`);
}

/** A KEK for development, kept per user so module keys wrapped by an earlier run still unwrap. */
function devKek() {
  const file = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'nco', 'dev-kek');
  if (existsSync(file)) return { kek: readFileSync(file, 'utf8').trim(), file };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  say(`created a development key-encryption key in ${file} (set NCO_KEK in production)`);
  return { kek: readFileSync(file, 'utf8').trim(), file };
}

/**
 * A command-signing key for development (docs/security.md), kept per user like the KEK: the
 * services sign with it (NCO_SIGNING_KEY_FILE) and the fleet trusts its public half (DCA_TRUSTED_KEYS).
 */
function devSigningKey() {
  const file = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'nco', 'dev-signing-key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(file, `dev-1:${privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    say(`created a development command-signing key in ${file} (set NCO_SIGNING_KEY_FILE in production)`);
  }
  const spec = readFileSync(file, 'utf8').trim();
  const kid = spec.slice(0, spec.indexOf(':'));
  const priv = createPrivateKey({ key: Buffer.from(spec.slice(kid.length + 1), 'base64'), format: 'der', type: 'pkcs8' });
  return { file, trusted: `${kid}:${createPublicKey(priv).export({ format: 'der', type: 'spki' }).toString('base64')}` };
}

/** An X25519 report key for development (docs/security.md, "Reports"): devices MAC their reports under keys derived from it. */
function devReportKey() {
  const file = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'nco', 'dev-report-key');
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    const { privateKey } = generateKeyPairSync('x25519');
    writeFileSync(file, `dev-r1:${privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
    say(`created a development report key in ${file} (set NCO_REPORT_KEY_FILE in production)`);
  }
  return file;
}

/** A development secret kept per user (the bootstrap token, the fleet's identity seed), created once. */
function devSecret(name, bytes) {
  const file = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'nco', name);
  if (!existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${randomBytes(bytes).toString('base64url')}\n`, { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return readFileSync(file, 'utf8').trim();
}

// ---------------------------------------------------------------------------------------------
// children

/** @type {Array<{name: string, proc: import('node:child_process').ChildProcess, exited: Promise<void>}>} */
const children = [];
let stopping = false;

function startChild(name, script, env, colorIndex) {
  const proc = spawn(process.execPath, [script], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = paint(colorIndex, name.padEnd(13));
  for (const stream of [proc.stdout, proc.stderr]) {
    createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => process.stdout.write(`${prefix} | ${line}\n`));
  }
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => {
      resolve();
      if (!stopping) {
        void fail(`${name} exited unexpectedly (${signal ? `signal ${signal}` : `exit code ${code}`}); its last lines are above`);
      }
    });
    proc.on('error', (e) => {
      resolve();
      if (!stopping) void fail(`${name} could not be started: ${e.message}`);
    });
  });
  children.push({ name, proc, exited });
  return proc;
}

/** Stops every child: SIGTERM, wait (services drain in-flight work), SIGKILL what is left. */
async function stopAll(graceMs = 20_000) {
  stopping = true;
  const alive = children.filter((c) => c.proc.exitCode === null && c.proc.signalCode === null);
  if (alive.length === 0) return;
  say(`stopping ${alive.map((c) => c.name).join(', ')}`);
  // The fleet first, so devices do not report into services that are going away.
  for (const c of [...alive].reverse()) c.proc.kill('SIGTERM');
  const timer = new Promise((r) => setTimeout(r, graceMs).unref());
  await Promise.race([Promise.all(alive.map((c) => c.exited)), timer]);
  for (const c of alive) {
    if (c.proc.exitCode === null && c.proc.signalCode === null) {
      say(`${c.name} did not stop within ${graceMs / 1000} s; killing it`);
      c.proc.kill('SIGKILL');
    }
  }
}

let failing = false;
async function fail(message) {
  if (failing) return;
  failing = true;
  process.stderr.write(`${bold('up: ' + message)}\n`);
  await stopAll();
  process.exit(1);
}

function fatal(message) {
  process.stderr.write(`up: ${message}\n`);
  process.exit(1);
}

async function ready(port, timeoutMs) {
  const url = `http://127.0.0.1:${port}/health/ready`;
  let last = 'no answer';
  const ok = await waitFor(async () => {
    if (stopping) return true;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (res.status === 200) return true;
      last = `${res.status} ${(await res.text()).slice(0, 300)}`;
    } catch (e) {
      last = e.cause?.code ?? e.message;
    }
    return false;
  }, timeoutMs, 300);
  return { ok, last, url };
}

// ---------------------------------------------------------------------------------------------
// main

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  // Under `npm start` a Ctrl-C arrives twice (from the terminal and forwarded by npm): only a
  // second one a second or more later means "kill now".
  let firstSignalAt = 0;
  const onSignal = (signal) => {
    if (firstSignalAt && Date.now() - firstSignalAt < 1000) return;
    if (firstSignalAt) {
      say('second interrupt: killing everything now');
      for (const c of children) c.proc.kill('SIGKILL');
      process.exit(130);
    }
    firstSignalAt = Date.now();
    say(`${signal}: stopping (Ctrl-C again to kill at once)`);
    void stopAll().then(() => {
      say('stopped');
      process.exit(0);
    });
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const urls = await ensureInfra();
  if (opts.build) build();
  const missing = [...SERVICES.map((s) => s.name), DASHBOARD.name, ...(opts.fleet ? ['dca'] : [])].filter((app) => {
    const script = app === 'dca' ? 'dist/apps/dca/src/fleet-main.js' : `dist/apps/${app}/src/main.js`;
    return !existsSync(script);
  });
  if (missing.length) {
    fatal(
      `cannot start ${missing.join(', ')}: ${missing
        .map((app) => (app === 'dca' ? 'apps/dca/src/fleet-main.ts' : `apps/${app}/src/main.ts`))
        .map((src) => `${src}${existsSync(src) ? ' is not built (run without --no-build)' : ' does not exist'}`)
        .join('; ')}`,
    );
  }
  if (!Number.isInteger(DASHBOARD.port) || DASHBOARD.port < 1 || DASHBOARD.port > 65535) usage(`DASHBOARD_PORT expects a port number (got ${process.env.DASHBOARD_PORT})`);
  for (const s of [...SERVICES, DASHBOARD]) {
    if (await answers(`http://127.0.0.1:${s.port}`)) {
      fatal(`port ${s.port} (${s.name}) is already in use: is the NCO already running (another npm start)? Stop it first`);
    }
  }
  await ensureDatabase(urls.DATABASE_URL);

  const base = {
    ...process.env,
    DATABASE_URL: urls.DATABASE_URL,
    REDIS_URL: urls.REDIS_URL,
    NATS_URL: urls.NATS_URL,
    LOG_FORMAT: process.env.LOG_FORMAT || 'pretty',
    ...(tty && !process.env.NO_COLOR ? { FORCE_COLOR: process.env.FORCE_COLOR ?? '1' } : {}),
  };
  migrate(base);
  const kek = process.env.NCO_KEK ? undefined : devKek();
  const signing = process.env.NCO_SIGNING_KEY || process.env.NCO_SIGNING_KEY_FILE ? undefined : devSigningKey();
  const reportKeyFile = process.env.NCO_REPORT_KEY || process.env.NCO_REPORT_KEY_FILE ? undefined : devReportKey();
  // Device identities: the fleet proves a development bootstrap token, so its devices are approved at once.
  const enrollToken = process.env.NCO_ENROLL_TOKEN || devSecret('dev-enroll-token', 24);
  const serviceEnv = { ...base, ...(kek ? { NCO_KEK: kek.kek } : {}), ...(signing ? { NCO_SIGNING_KEY_FILE: signing.file } : {}), ...(reportKeyFile ? { NCO_REPORT_KEY_FILE: reportKeyFile } : {}), NCO_ENROLL_TOKEN: enrollToken };

  say(`starting ${SERVICES.map((s) => s.name).join(', ')}`);
  SERVICES.forEach((s, i) => startChild(s.name, `dist/apps/${s.name}/src/main.js`, { ...serviceEnv, HTTP_PORT: String(s.port) }, i));
  const startedAt = Date.now();
  const results = await Promise.all(SERVICES.map(async (s) => ({ ...s, ...(await ready(s.port, opts.readyTimeoutMs)) })));
  if (stopping) return;
  const late = results.filter((r) => !r.ok);
  if (late.length) {
    await fail(
      `${late.map((r) => r.name).join(', ')} did not become ready within ${opts.readyTimeoutMs / 1000} s (${late
        .map((r) => `${r.url}: ${r.last}`)
        .join('; ')})`,
    );
    return;
  }
  say(`all services ready in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);

  startChild(DASHBOARD.name, `dist/apps/${DASHBOARD.name}/src/main.js`, { ...base, HTTP_PORT: String(DASHBOARD.port) }, SERVICES.length + 1);
  const board = await ready(DASHBOARD.port, opts.readyTimeoutMs);
  if (stopping) return;
  if (!board.ok) {
    await fail(`the dashboard did not become ready within ${opts.readyTimeoutMs / 1000} s (${board.url}: ${board.last})`);
    return;
  }

  const release = kernelHeadersRelease();
  if (opts.fleet) {
    startChild('fleet', 'dist/apps/dca/src/fleet-main.js', {
      ...base,
      FLEET_SIZE: String(opts.devices),
      // Simulated devices run this machine's kernel flavor, so real kbuild can build for them.
      ...(release && !process.env.FLEET_RELEASE ? { FLEET_RELEASE: release } : {}),
      ...(signing && !process.env.DCA_TRUSTED_KEYS ? { DCA_TRUSTED_KEYS: signing.trusted } : {}),
      DCA_ENROLL_TOKEN: process.env.DCA_ENROLL_TOKEN || enrollToken,
      FLEET_IDENTITY_SEED: process.env.FLEET_IDENTITY_SEED || devSecret('dev-fleet-identity-seed', 32),
      ...(opts.middleboxes ? { FLEET_MIDDLEBOXES: opts.middleboxes } : {}),
    }, SERVICES.length);
  }
  banner(opts, urls, kek, signing);
  if (opts.demo) await demoDeploy(opts, base, release);
}

/** The newest installed kernel headers (/usr/src/linux-headers-<release>, with a Makefile). */
function kernelHeadersRelease() {
  let dirs = [];
  try {
    dirs = readdirSync('/usr/src').filter((d) => /^linux-headers-.+-amd64$/.test(d) && existsSync(`/usr/src/${d}/Makefile`));
  } catch {
    return undefined;
  }
  return dirs.sort().reverse()[0]?.replace(/^linux-headers-/, '');
}

/**
 * The main job, once: every simulated device gets its own dns-tag module (built, stamped with its
 * own id and key, delivered, confirmed by its report), followed live by `nco deploy`.
 */
async function demoDeploy(opts, env, release) {
  if (!release) {
    process.stdout.write('No kernel headers in /usr/src (apt-get install linux-headers-amd64): skipping the demo deploy.\n');
    return;
  }
  // Asynchronous, so the services' output keeps flowing and Ctrl-C still works meanwhile.
  const nco = (args, inherit = false) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, ['dist/apps/cli/src/main.js', ...args], { env: { ...process.env, ...env }, stdio: inherit ? 'inherit' : 'pipe' });
      let out = '';
      child.stdout?.on('data', (d) => (out += d));
      child.on('exit', (status) => resolve({ status, stdout: out }));
    });
  // The devices online now (the database may remember devices of earlier runs, offline now).
  let hostIds = [];
  const online = await waitFor(async () => {
    const r = await nco(['hosts', '--online', '--json']);
    try {
      hostIds = JSON.parse(r.stdout).filter((h) => !h.middleboxType).map((h) => h.hostId);
      return r.status === 0 && hostIds.length >= opts.devices;
    } catch {
      return false;
    }
  }, 60_000, 500);
  if (stopping) return;
  if (!online) {
    process.stdout.write('The fleet did not come online within 60 s: skipping the demo deploy.\n');
    return;
  }
  process.stdout.write(bold(`\nDemo: nco deploy dns-tag --host ${hostIds.join(',')} (a unique module for each online device)\n`));
  const r = await nco(['deploy', 'dns-tag', '--host', hostIds.join(','), '--wait-timeout', '5m'], true);
  if (stopping) return;
  process.stdout.write(r.status === 0
    ? 'Demo done: npx nco modules <host id> shows a device\'s module; the dashboard shows them all.\n'
    : 'The demo deploy did not succeed (see above; npx nco builds lists build errors).\n');
}

function banner(opts, urls, kek, signing) {
  const lines = [
    '',
    bold('The NCO is up.') + ' Ctrl-C stops the services and the fleet (PostgreSQL, Redis and NATS keep running).',
    '',
    `  ${bold('dashboard')}      ${bold(`http://127.0.0.1:${DASHBOARD.port}/`)}   (live, read-only; metrics at /metrics)`,
    '',
    `  ${'service'.padEnd(14)} ${'ready'.padEnd(36)} metrics`,
    ...SERVICES.map((s) => `  ${s.name.padEnd(14)} ${`http://127.0.0.1:${s.port}/health/ready`.padEnd(36)} http://127.0.0.1:${s.port}/metrics`),
    `  ${'fleet'.padEnd(14)} ${opts.fleet ? `${opts.devices} simulated DCAs${opts.middleboxes ? ` + middleboxes ${opts.middleboxes}` : ''}` : 'not started (--no-fleet)'}`,
    '',
    `  NATS ${redact(urls.NATS_URL)}   PostgreSQL ${redact(urls.DATABASE_URL)}   Redis ${redact(urls.REDIS_URL)}`,
    ...(kek ? [`  development KEK: ${kek.file}`] : []),
    ...(signing ? [`  development command-signing key: ${signing.file} (the fleet trusts ${signing.trusted.split(':')[0]})`] : []),
    '',
    'Next, in another terminal:',
    '  npx nco hosts             the hosts that checked in (--json for scripts)',
    '  npx nco watch             live device reports and NCO events (--since 5m replays)',
    '  npx nco --help            every command',
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((e) => fail(e.stack ?? String(e)));
