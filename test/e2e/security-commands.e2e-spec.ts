import { Envelope, Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { TestSystem } from '../support/system';
import { buildAndInstall, deploymentsOf, lifecycleSystem, RELEASE, settled } from './lifecycle-support';
import { cibSnapshot, revokeCommand, sendRaw } from './security-support';

/**
 * Signed commands through the running services: the NCO signs every device command, the fleet
 * trusts only the system's key. Forged, misaddressed, replayed and stale commands are refused by
 * the device with a reason, reported as an incident, and change neither the device nor the CIB.
 */
describe('security: signed commands', () => {
  const sys: TestSystem = lifecycleSystem(14, { reportIntervalMs: 500 });
  let fleet: Fleet;
  let hosts: number[];
  const moduleOf = new Map<number, number>();
  const incidents: Array<{ hostId: number; kind: string; reason: string }> = [];

  beforeAll(async () => {
    await sys.start();
    fleet = await sys.fleet(3, { release: RELEASE, macPrefix: '02:e5:00' });
    hosts = fleet.devices.map((d) => d.hostId!);
    sys.bus.subscribe(Subjects.device.incident, ({ env }) => void incidents.push({ hostId: env.hostId!, kind: env.body.kind, reason: env.body.reason }));
    const operationId = await buildAndInstall(sys, hosts);
    expect(await settled(sys, operationId, 120_000)).toMatchObject({ status: 'succeeded', succeeded: hosts.length });
    for (const d of await deploymentsOf(sys, operationId)) moduleOf.set(d.host_id, d.module_id);
  }, 180_000);
  afterAll(() => sys.stop());

  const loaded = (h: number) => fleet.device(h)!.driver.inspect(moduleOf.get(h)!);

  /** Sends, expects the refusal text, and checks that the device still runs the module and the CIB did not move. */
  async function refused(target: number, subject: string, env: Envelope<unknown>, kind: string, message: RegExp) {
    const before = await cibSnapshot(sys);
    const reply = await sendRaw(sys, subject, env);
    expect(reply).toMatchObject({ type: 'error', body: { code: 'invalid_request', message: expect.stringMatching(message) } });
    expect(loaded(target)).toBeDefined();
    await pollUntil(() => incidents.some((i) => i.hostId === target && i.kind === kind), `incident ${kind}`);
    // A report cycle later the CIB still matches what it was.
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await cibSnapshot(sys)).toEqual(before);
  }

  it('the services signed what they sent: the installs were accepted', () => {
    for (const h of hosts) expect(loaded(h)).toBeDefined();
  });

  it('refuses an unsigned command', async () => {
    const h = hosts[0];
    await refused(h, `nco.dev.${h}.cmd.revoke`, revokeCommand(sys, h, moduleOf.get(h)!, { sign: false }), 'command_unsigned', /not signed by the NCO/);
  });

  it('refuses a command signed by a key the device does not trust', async () => {
    const h = hosts[0];
    const forged = revokeCommand(sys, h, moduleOf.get(h)!);
    forged.sig = { ...forged.sig!, kid: 'attacker-1' };
    await refused(h, `nco.dev.${h}.cmd.revoke`, forged, 'command_untrusted_key', /does not trust/);
  });

  it('refuses a command for another host', async () => {
    const [h, other] = hosts;
    await refused(h, `nco.dev.${h}.cmd.revoke`, revokeCommand(sys, other, moduleOf.get(h)!), 'command_wrong_host', new RegExp(`addressed to host ${other}, not ${h}`));
  });

  it('refuses an expired command', async () => {
    const h = hosts[1];
    const stale = revokeCommand(sys, h, moduleOf.get(h)!, { issuedAt: new Date(Date.now() - 10 * 60_000) });
    await refused(h, `nco.dev.${h}.cmd.revoke`, stale, 'command_expired', /outside the \d+ ms window/);
  });

  it('refuses a replayed command: an operator toggle captured on the wire does not run again', async () => {
    const h = hosts[2];
    const captured: Array<{ subject: string; data: Uint8Array }> = [];
    const spy = sys.bus.nc.subscribe(`nco.dev.${h}.cmd.toggle`, { callback: (_, m) => captured.push({ subject: m.subject, data: m.data }) });
    const off = await sys.bus.request(Subjects.cmd.toggle, undefined, { target: { hostIds: [h] }, module: 'dns-tag', mode: 0 });
    expect(await settled(sys, off.operationId)).toMatchObject({ status: 'succeeded' });
    spy.unsubscribe();
    const on = await sys.bus.request(Subjects.cmd.toggle, undefined, { target: { hostIds: [h] }, module: 'dns-tag', mode: 1 });
    expect(await settled(sys, on.operationId)).toMatchObject({ status: 'succeeded' });
    expect(loaded(h)).toMatchObject({ activated: 1 });
    expect(captured).toHaveLength(1);
    const replay = JSON.parse(new TextDecoder().decode(captured[0].data));
    await refused(h, captured[0].subject, replay, 'command_replayed', /already used \(replay\)/);
    expect(loaded(h)).toMatchObject({ activated: 1 });
  });
});
