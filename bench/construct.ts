/**
 * `npm run bench -- construct [--hosts N]`
 *
 * Host-unique modules built through the running services: construct-svc (BullMQ job, real kbuild,
 * stamping) and security-svc (fresh keys) on a fresh CIB with N hosts of one kernel flavor whose
 * symvers are already collected. First one real compile (one host), then a build for all N hosts
 * that only stamps, measured until every built-module row is written.
 */
import 'reflect-metadata';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createTestDatabase } from '@nco/cib/testing';
import { connectNats, NatsBus, silentLogger, Subjects } from '@nco/events';
import { createService, RunningService } from '@nco/runtime';
import { constructService } from '../apps/construct-svc/src/app';
import { securityService } from '../apps/security-svc/src/app';
import { headersRelease, option } from './_support';

const TARGET_PER_SEC = 2_000;
const TARGET_COMPILE_MS = 5_000;



async function main(): Promise<void> {
  const hosts = option('hosts', 10_000);
  const release = await headersRelease();
  const log = (line: string) => process.stderr.write(`${line}\n`);
  log(`construct bench: ${hosts} hosts on ${release}, module dns-tag`);

  const db = await createTestDatabase('nco_bench');
  const services: RunningService[] = [];
  const nc = await connectNats({ servers: process.env.NATS_URL || 'nats://127.0.0.1:4222', name: 'bench-construct', failFast: true }, silentLogger);
  const bus = new NatsBus(nc, silentLogger);
  try {
    const symvers = readFileSync('modules/core/Module.symvers.recorded');
    const sha = createHash('sha256').update(symvers).digest('hex');
    // Hosts and their symvers, set-based: the bench measures building, not check-in.
    await db.ds.query(
      `INSERT INTO hosts (host_id, mac, release, online, last_seen_at)
       SELECT i, '02:bb:' || lpad(to_hex(i >> 24 & 255), 2, '0') || ':' || lpad(to_hex(i >> 16 & 255), 2, '0') || ':' || lpad(to_hex(i >> 8 & 255), 2, '0') || ':' || lpad(to_hex(i & 255), 2, '0'),
              $2, true, now()
       FROM generate_series(1, $1::int) AS i`,
      [hosts + 1, release],
    );
    await db.ds.query(`INSERT INTO symvers (host_id, release, sha256, size, content) SELECT host_id, $1, $2, $3, $4 FROM hosts`, [release, sha, symvers.length, symvers]);

    const env = {
      DATABASE_URL: db.url,
      NATS_URL: process.env.NATS_URL || 'nats://127.0.0.1:4222',
      REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
      HTTP_PORT: '0',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'silent',
      NCO_KEK: randomBytes(32).toString('base64'),
    };
    services.push(await createService(securityService, env));
    services.push(await createService(constructService, env));

    const build = async (hostIds: number[]) => {
      const t0 = performance.now();
      const { operationId } = await bus.request(Subjects.cmd.build, undefined, {
        module: 'dns-tag', target: { hostIds }, install: false, applyNow: true, params: {}, toolchain: 'stamp',
      }, { timeoutMs: 60_000 });
      for (;;) {
        const [op] = await db.ds.query(`SELECT status, succeeded, failed, pending FROM operations WHERE id = $1`, [operationId]);
        if (op.pending === 0) {
          if (op.failed) throw new Error(`build failed on ${op.failed} hosts`);
          return { ms: performance.now() - t0, operationId };
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    const compile = await build([hosts + 1]);
    const [{ compile_ms }] = await db.ds.query(`SELECT compile_ms FROM build_flavors`);
    const fleet = await build(Array.from({ length: hosts }, (_, i) => i + 1));
    const [{ n }] = await db.ds.query(`SELECT count(*)::int AS n FROM built_modules WHERE operation_id = $1`, [fleet.operationId]);
    const [{ distinct }] = await db.ds.query(`SELECT count(DISTINCT artifact_sha256)::int AS distinct FROM built_modules WHERE operation_id = $1`, [fleet.operationId]);
    const [{ flavors }] = await db.ds.query(`SELECT count(*)::int AS flavors FROM build_flavors`);
    if (n !== hosts || distinct !== hosts) throw new Error(`expected ${hosts} unique modules, found ${n} rows, ${distinct} distinct artifacts`);
    const perSec = (hosts / fleet.ms) * 1000;

    const figures = {
      bench: 'construct',
      hosts,
      release,
      compileWallMs: Math.round(compile.ms),
      compileMakeMs: Number(compile_ms),
      stampWallMs: Math.round(fleet.ms),
      modulesPerSec: Math.round(perSec),
      compiles: Number(flavors),
      targetModulesPerSec: TARGET_PER_SEC,
    };
    const mark = (ok: boolean) => (ok ? 'ok' : 'MISSED');
    process.stdout.write(`one real compile (request → built row): ${figures.compileWallMs} ms (kbuild ${figures.compileMakeMs} ms; target <= ${TARGET_COMPILE_MS} ms) ${mark(figures.compileWallMs <= TARGET_COMPILE_MS)}\n`);
    process.stdout.write(`host-unique modules at N=${hosts}: ${figures.modulesPerSec}/s in ${figures.stampWallMs} ms (target >= ${TARGET_PER_SEC}/s) ${mark(perSec >= TARGET_PER_SEC)}\n`);
    process.stdout.write(`compiles for ${hosts + 1} hosts of one flavor: ${figures.compiles} (target 1) ${mark(figures.compiles === 1)}\n`);
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } finally {
    await Promise.allSettled(services.map((s) => s.close()));
    await nc.close();
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`construct bench failed: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
