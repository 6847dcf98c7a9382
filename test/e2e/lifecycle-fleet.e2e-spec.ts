import { Subjects } from '@nco/events';
import { createService } from '@nco/runtime';
import { pollUntil } from '@nco/events/testing';
import { deployService } from '../../apps/deploy-svc/src/app';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { nco } from '../support/cli';
import { countOf, lifecycleSystem, RELEASE, settled } from './lifecycle-support';

const HOSTS = Number(process.env.LIFECYCLE_FLEET_HOSTS || 1_000);

/**
 * A fleet deployed in one operation: every host gets its own module (own id, own key, stamped),
 * delivered by two deploy-svc replicas, each install sent once, all confirmed by reports.
 */
describe(`lifecycle: ${HOSTS} simulated hosts`, () => {
  // Commands may take seconds on a loaded 2-core CI machine: no retry of an answer merely late.
  const sys = lifecycleSystem(13, { reportIntervalMs: 5_000, env: { COMMAND_TIMEOUT_MS: '10000', INSTALL_CONFIRM_MS: '40000' } });
  let fleet: Fleet;

  beforeAll(async () => {
    await sys.start();
    sys.services.push(await createService(deployService, sys.env));
    fleet = await sys.fleet(HOSTS, { release: RELEASE, macPrefix: '02:d3:00' });
    await pollUntil(async () => (await countOf(sys, `SELECT count(*)::int AS n FROM hosts WHERE online`)) === HOSTS, 'the fleet online', 60_000, 200);
    // The one compile of the flavor happens before the measured deploy (a build of one host, not installed).
    const warm = await sys.bus.request(Subjects.cmd.build, undefined, {
      module: 'dns-tag', target: { hostIds: [fleet.devices[0].hostId!] }, install: false, applyNow: true, params: {}, toolchain: 'stamp',
    });
    await settled(sys, warm.operationId, 120_000);
  }, 300_000);
  afterAll(() => sys.stop(), 60_000);

  it('deploys to every host, each module loaded once, every deployment installed', async () => {
    // Loads per host: a repeated install (a retry after a late answer) is answered without a second load.
    const installs = new Map<number, number>();
    for (const d of fleet.devices) {
      const original = d.driver.install.bind(d.driver);
      d.driver.install = async (artifact, opts) => {
        const outcome = await original(artifact, opts);
        if (outcome === 'installed') installs.set(d.hostId!, (installs.get(d.hostId!) ?? 0) + 1);
        return outcome;
      };
    }
    const t0 = Date.now();
    // Through the operator CLI, which follows the operation's progress events to the end.
    const run = await nco(sys.nats.url, 'deploy', 'dns-tag', '--all', '--json');
    const ms = Date.now() - t0;
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    const op = run.json();
    const operationId: string = op.id;
    expect(op).toMatchObject({ status: 'succeeded', targetCount: HOSTS, succeeded: HOSTS, failed: 0, failures: [] });
    expect(await sys.query(`SELECT state, count(*)::int AS n FROM deployments WHERE operation_id = $1 GROUP BY state`, [operationId])).toEqual([{ state: 'installed', n: HOSTS }]);
    expect(await countOf(sys, `SELECT count(DISTINCT artifact_sha256)::int AS n FROM built_modules WHERE operation_id = $1`, [operationId])).toBe(HOSTS);
    expect(installs.size).toBe(HOSTS);
    expect([...installs.values()].every((n) => n === 1)).toBe(true);
    const [lat] = await sys.query<{ p50: number; p99: number }>(
      `SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY ms) AS p50, percentile_disc(0.99) WITHIN GROUP (ORDER BY ms) AS p99
       FROM (SELECT extract(epoch FROM installed_at - $2::timestamptz) * 1000 AS ms FROM deployments WHERE operation_id = $1) x`,
      [operationId, new Date(t0)],
    );
    process.stdout.write(`${HOSTS} hosts built, delivered and confirmed in ${ms} ms (installed: p50 ${Math.round(lat.p50)} ms, p99 ${Math.round(lat.p99)} ms after the command)\n`);
  }, 180_000);
});
