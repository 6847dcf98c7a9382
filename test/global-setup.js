// Makes sure Postgres, NATS (JetStream) and Redis answer before medium and e2e tests run.
// URLs come from DATABASE_URL, NATS_URL and REDIS_URL (defaults: the local servers). Where one
// does not answer and a Docker engine does, testcontainers starts it; otherwise the run stops
// at once with the command that starts it.
const net = require('node:net');
const { execFileSync } = require('node:child_process');

const services = [
  {
    env: 'DATABASE_URL', fallback: 'postgres://postgres@127.0.0.1:5432/postgres', image: 'postgres:15', port: 5432,
    start: "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
    containerEnv: { POSTGRES_HOST_AUTH_METHOD: 'trust' }, url: (h, p) => `postgres://postgres@${h}:${p}/postgres`,
  },
  {
    env: 'NATS_URL', fallback: 'nats://127.0.0.1:4222', image: 'nats:2.10', port: 4222, cmd: ['-js'],
    start: 'start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server',
    url: (h, p) => `nats://${h}:${p}`,
  },
  {
    env: 'REDIS_URL', fallback: 'redis://127.0.0.1:6379', image: 'redis:7', port: 6379,
    start: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    url: (h, p) => `redis://${h}:${p}`,
  },
];

function answers(url) {
  const u = new URL(url.split(',')[0]);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port) }, () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
    s.setTimeout(1500, () => { s.destroy(); resolve(false); });
  });
}

function dockerAnswers() {
  try { execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }); return true; } catch { return false; }
}

module.exports = async function globalSetup() {
  const missing = [];
  for (const s of services) {
    const url = process.env[s.env] || s.fallback;
    if (await answers(url)) { process.env[s.env] = url; continue; }
    if (!process.env[s.env] && dockerAnswers()) {
      const { GenericContainer } = require('testcontainers');
      let c = new GenericContainer(s.image).withExposedPorts(s.port);
      if (s.cmd) c = c.withCommand(s.cmd);
      if (s.containerEnv) c = c.withEnvironment(s.containerEnv);
      const started = await c.start();
      (globalThis.__containers ??= []).push(started);
      process.env[s.env] = s.url(started.getHost(), started.getMappedPort(s.port));
      continue;
    }
    missing.push(`${s.env}=${url} does not answer; start it with: ${s.start}`);
  }
  if (missing.length) throw new Error(`test servers are missing:\n  ${missing.join('\n  ')}`);
};
