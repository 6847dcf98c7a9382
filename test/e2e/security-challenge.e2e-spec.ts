import { ChallengeFailedBody, Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { randomBytes } from 'node:crypto';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { TestSystem } from '../support/system';
import { buildAndInstall, deploymentsOf, lifecycleSystem, RELEASE, settled } from './lifecycle-support';

/**
 * Challenge-response through the running services: security-svc challenges every deployment
 * whose security window passed; the simulated cores answer with the key of their artifact. A
 * pass marks the deployment verified; a wrong key, a wrong or malformed answer, or silence
 * revokes exactly that module (revoke-svc delivers, the CIB records source `challenge`) and an
 * event says why. Nothing else changes.
 */
describe('security: challenge-response', () => {
  const sys: TestSystem = lifecycleSystem(15, {
    reportIntervalMs: 500,
    env: { CHALLENGE_SWEEP_MS: '300', CHALLENGE_WINDOW_S: '1', CHALLENGE_TIMEOUT_MS: '1500' },
  });
  let fleet: Fleet;
  let hosts: number[];
  const moduleOf = new Map<number, number>();
  const failures: ChallengeFailedBody[] = [];

  beforeAll(async () => {
    await sys.start();
    fleet = await sys.fleet(5, { release: RELEASE, macPrefix: '02:e6:00' });
    hosts = fleet.devices.map((d) => d.hostId!);
    sys.bus.subscribe(Subjects.evt.challengeFailed, ({ env }) => void failures.push(env.body));
    const operationId = await buildAndInstall(sys, hosts);
    expect(await settled(sys, operationId, 120_000)).toMatchObject({ status: 'succeeded', succeeded: hosts.length });
    for (const d of await deploymentsOf(sys, operationId)) moduleOf.set(d.host_id, d.module_id);
  }, 180_000);
  afterAll(() => sys.stop());

  const stateOf = async (h: number) =>
    (await sys.query<{ state: string; checked: Date | null }>(`SELECT state, security_checked_at AS checked FROM deployments WHERE host_id = $1 AND module_id = $2`, [h, moduleOf.get(h)!]))[0];
  const revocationsOf = (h: number) => sys.query<{ source: string; reason: string }>(`SELECT source, reason FROM revocations WHERE host_id = $1 ORDER BY id`, [h]);

  it('every module answers with its key: deployments become verified, again and again', async () => {
    for (const h of hosts) await pollUntil(async () => (await stateOf(h))?.state === 'verified', `host ${h} verified`, 20_000);
    const first = (await stateOf(hosts[0])).checked!.getTime();
    await pollUntil(async () => (await stateOf(hosts[0])).checked!.getTime() > first, 'a second check of host 0', 20_000);
    expect(failures).toEqual([]);
    expect(await sys.query(`SELECT count(*)::int AS n FROM revocations`)).toEqual([{ n: 0 }]);
  });

  /** Makes one device misbehave, then expects exactly its module revoked, with the failure named. */
  async function expectRevoked(h: number, failure: ChallengeFailedBody['failure'], reason: RegExp) {
    const others = await sys.query(`SELECT host_id, module_id FROM deployments WHERE host_id <> $1 ORDER BY 1, 2`, [h]);
    const event = await pollUntil(async () => failures.find((f) => f.hostId === h), `challenge failure of host ${h}`, 20_000);
    expect(event).toMatchObject({ moduleId: moduleOf.get(h), moduleName: 'dns-tag', failure, reason: expect.stringMatching(reason) });
    await settled(sys, event.operationId);
    await pollUntil(async () => fleet.device(h)!.driver.inspect(moduleOf.get(h)!) === undefined, `module of host ${h} unloaded`);
    expect(await stateOf(h)).toBeUndefined();
    expect(await revocationsOf(h)).toEqual([{ source: 'challenge', reason: expect.stringContaining(`security challenge failed (${failure})`) }]);
    expect(await sys.query(`SELECT kind, status, params->>'source' AS source FROM operations WHERE id = $1`, [event.operationId])).toEqual([{ kind: 'revoke', status: 'succeeded', source: 'challenge' }]);
    // Only that module: every other deployment is still there.
    expect(await sys.query(`SELECT host_id, module_id FROM deployments WHERE host_id <> $1 ORDER BY 1, 2`, [h])).toEqual(others);
  }

  it('a module whose key is not the NCO\'s (tampered or foreign artifact) cannot answer: revoked', async () => {
    const h = hosts[1];
    const driver = fleet.device(h)!.driver as unknown as { modules: Map<number, { key?: string }> };
    driver.modules.get(moduleOf.get(h)!)!.key = randomBytes(32).toString('hex');
    await expectRevoked(h, 'refused', /does not decrypt under its key/);
  });

  it('an answer under the wrong key is revoked', async () => {
    const h = hosts[2];
    fleet.device(h)!.driver.challenge = async () => ({ IV: randomBytes(16).toString('hex'), Response: randomBytes(16).toString('hex') });
    await expectRevoked(h, 'wrong_answer', /module key|nonce/);
  });

  it('a malformed answer is revoked', async () => {
    const h = hosts[3];
    fleet.device(h)!.driver.challenge = async () => ({ IV: 'not hex', Response: 'zz' });
    await expectRevoked(h, 'malformed', /not 16 bytes of lowercase hex/);
  });

  it('no answer in time is revoked', async () => {
    const h = hosts[4];
    // Answers, but only after the NCO stopped waiting (and so the fleet can still stop cleanly).
    fleet.device(h)!.driver.challenge = () => new Promise((resolve) => setTimeout(() => resolve({ IV: '00'.repeat(16), Response: '00'.repeat(16) }), 3_000));
    await expectRevoked(h, 'timeout', /no answer within 1500 ms/);
  });

  it('the well-behaved host stayed verified throughout', async () => {
    expect(await stateOf(hosts[0])).toMatchObject({ state: 'verified' });
    expect(fleet.device(hosts[0])!.driver.inspect(moduleOf.get(hosts[0])!)).toBeDefined();
    expect(failures.filter((f) => f.hostId === hosts[0])).toEqual([]);
  });
});
