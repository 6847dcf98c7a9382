import { deriveDeviceKeys, deriveReportMacKey, DeviceKeys, EnvelopeSignHook, generateDeviceKeys, macDeviceReport, parseReportKeys, signDeviceEnvelope, Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { randomBytes } from 'node:crypto';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { TestSystem } from '../support/system';
import { lifecycleSystem, RELEASE } from './lifecycle-support';
import { cibSnapshot } from './security-support';

const FAST_RETRY = { initialMs: 100, maxMs: 300, slowMinMs: 200, slowMaxMs: 400 };

/**
 * Device identity through the running services: DCAs enroll at their first check-in (at once
 * with the bootstrap token, else after `nco devices approve`); a check-in or report that claims
 * another device's identity, or comes from a revoked device, is refused and changes nothing.
 */
describe('security: device identity', () => {
  const sys: TestSystem = lifecycleSystem(16, { reportIntervalMs: 300 });
  const seed = randomBytes(32);
  let fleet: Fleet;
  let hosts: number[];
  const keysOf = (i: number): DeviceKeys => deriveDeviceKeys(seed, fleet.devices[i].mac);

  beforeAll(async () => {
    await sys.start();
    fleet = await sys.fleet(2, { release: RELEASE, macPrefix: '02:e7:00', identitySeed: seed });
    hosts = fleet.devices.map((d) => d.hostId!);
  });
  afterAll(() => sys.stop());

  const devices = async (state?: 'pending' | 'approved' | 'revoked') => (await sys.bus.request(Subjects.cmd.devicesList, undefined, { ...(state ? { state } : {}), limit: 100 })).devices;
  const hostRow = async (mac: string) => (await sys.query(`SELECT host_id, last_checkin_at FROM hosts WHERE mac = $1`, [mac]))[0];
  const checkin = (mac: string, keys: DeviceKeys, o: { claim?: DeviceKeys; identity?: boolean } = {}) =>
    sys.bus.request(
      Subjects.device.checkin,
      undefined,
      { mac, release: RELEASE, ...(o.identity === false ? {} : { identity: { signKey: (o.claim ?? keys).signPublic, encKey: (o.claim ?? keys).encPublic } }) },
      { sign: (env, subject) => void signDeviceEnvelope(env, subject, keys) },
    );

  it('devices that prove the bootstrap token are approved at first check-in and bound to their host ids', async () => {
    const list = await devices();
    expect(list.map((d) => ({ mac: d.mac, hostId: d.hostId, state: d.state, enrolledBy: d.enrolledBy })).sort((a, b) => a.hostId! - b.hostId!)).toEqual(
      fleet.devices.map((d, i) => ({ mac: d.mac, hostId: hosts[i], state: 'approved', enrolledBy: 'token' })),
    );
    expect(list.map((d) => d.fingerprint).sort()).toEqual([keysOf(0).fingerprint, keysOf(1).fingerprint].sort());
  });

  it('an unenrolled device is refused (no host, no host id) until an operator approves it', async () => {
    const mac = '02:e7:01:00:00:01';
    const hostsBefore = await sys.query(`SELECT count(*)::int AS n FROM hosts`);
    const starting = sys.fleet(1, { release: RELEASE, macPrefix: '02:e7:01', enrollToken: undefined, backoff: FAST_RETRY });
    const pending = await pollUntil(async () => (await devices('pending')).find((d) => d.mac === mac), 'the device pending approval');
    expect(pending).toMatchObject({ hostId: null, enrolledBy: null });
    await new Promise((r) => setTimeout(r, 800)); // a few refused attempts
    expect(await hostRow(mac)).toBeUndefined();
    expect(await sys.query(`SELECT count(*)::int AS n FROM hosts`)).toEqual(hostsBefore);

    const approved = await sys.bus.request(Subjects.cmd.devicesApprove, undefined, { device: pending.fingerprint });
    expect(approved.device).toMatchObject({ mac, state: 'approved', enrolledBy: 'operator' });
    const late = await starting;
    const hostId = late.devices[0].hostId!;
    expect(await hostRow(mac)).toMatchObject({ host_id: hostId });
    await pollUntil(async () => (await devices('approved')).find((d) => d.mac === mac)?.hostId === hostId, 'the device bound to its host');
  });

  it('a check-in claiming another device\'s identity is refused and changes nothing', async () => {
    const mac = fleet.devices[0].mac;
    const attacker = generateDeviceKeys();
    const before = await cibSnapshot(sys);
    const row = await hostRow(mac);
    await expect(checkin(mac, attacker)).rejects.toMatchObject({ code: 'invalid_request', message: expect.stringContaining(`belongs to device ${keysOf(0).fingerprint}`) });
    await expect(checkin(mac, attacker, { claim: keysOf(0) })).rejects.toMatchObject({ message: 'check-in is not signed by the identity it presents' });
    await expect(checkin(mac, attacker, { identity: false })).rejects.toMatchObject({ message: expect.stringContaining('must carry that identity') });
    expect(await hostRow(mac)).toEqual(row);
    expect(await cibSnapshot(sys)).toEqual(before);
    // The real device still checks in.
    // It is handed the NCO report key, under which it MACs its reports.
    const [nco] = parseReportKeys(sys.reportKey!.privateSpec);
    await expect(checkin(mac, keysOf(0))).resolves.toMatchObject({ hostId: hosts[0], isNew: false, reportKey: { kid: nco.kid, key: nco.publicKey } });
  });

  it('the fleet\'s devices MAC their reports under the key the check-in handed them', async () => {
    const sub = sys.bus.nc.subscribe(`nco.dev.${hosts[0]}.report`, { max: 1 });
    for await (const m of sub) expect(JSON.parse(new TextDecoder().decode(m.data)).sig).toMatchObject({ kid: sys.reportKey!.kid, alg: 'hmac-sha256' });
    // …and they are believed: the host's last report time moves on.
    const [{ t0 }] = await sys.query<{ t0: Date }>(`SELECT now() AS t0`);
    await pollUntil(async () => (await sys.query(`SELECT 1 FROM hosts WHERE host_id = $1 AND last_seen_at > $2`, [hosts[0], t0])).length === 1, 'a MAC\'ed report applied');
  });

  it('a report from the wrong device is refused; the same report from the right one is applied', async () => {
    const h = hosts[0];
    const kernel = { Installed: [{ ID: 999, Activated: 1, Count: 0, ts: Date.now() / 1000 }], Deprecated: [], Revoked: [] };
    const unknown = () => sys.query(`SELECT module_id FROM unknown_modules WHERE host_id = $1`, [h]);
    const forged = generateDeviceKeys();
    // MAC'ed reports (NCO_REPORT_KEY): K is derived from a device's X25519 key and the NCO report key, for one host id.
    const [nco] = parseReportKeys(sys.reportKey!.privateSpec);
    const macBy = (keys: DeviceKeys, hostId = h, kid = nco.kid): EnvelopeSignHook => (env, s) => void macDeviceReport(env, s, kid, deriveReportMacKey(keys.enc, nco.publicKey, hostId));
    const report = (seq: number, sign?: EnvelopeSignHook, k = kernel) => sys.bus.publish(Subjects.device.report, { hostId: h }, { seq, reason: 'change', kernel: k }, { hostId: h, sign });
    report(1e6, (env, s) => void signDeviceEnvelope(env, s, forged));
    report(1e6 + 1);
    report(1e6 + 2, macBy(forged));
    report(1e6 + 3, macBy(keysOf(1))); // another enrolled device's key
    report(1e6 + 4, macBy(keysOf(0), hosts[1])); // the right device, a key for another host id
    report(1e6 + 5, macBy(keysOf(0), h, 'no-such-key'));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await unknown()).toEqual([]);
    // Control: MAC'ed by host 0's device the report is believed (so the refusals above were the identity check).
    report(1e6 + 6, macBy(keysOf(0)));
    await pollUntil(async () => (await unknown()).length === 1, 'the unknown module flagged from the genuine MAC\'ed report');
    // A device not handed a report key yet still signs its reports, and is believed too.
    const more = { ...kernel, Installed: [...kernel.Installed, { ...kernel.Installed[0], ID: 998 }] };
    report(1e6 + 7, (env, s) => void signDeviceEnvelope(env, s, keysOf(0)), more);
    await pollUntil(async () => (await unknown()).length === 2, 'the second unknown module flagged from the genuine signed report');
  });

  it('a revoked device is shut out: its check-ins are refused', async () => {
    const mac = fleet.devices[1].mac;
    const revoked = await sys.bus.request(Subjects.cmd.devicesRevoke, undefined, { device: mac });
    expect(revoked.device).toMatchObject({ state: 'revoked', revokedAt: expect.any(String) });
    const row = await hostRow(mac);
    await expect(checkin(mac, keysOf(1))).rejects.toMatchObject({ message: expect.stringContaining('was revoked by an operator') });
    expect(await hostRow(mac)).toEqual(row);
    await expect(sys.bus.request(Subjects.cmd.devicesApprove, undefined, { device: 'ff'.repeat(8) })).rejects.toMatchObject({ code: 'not_found' });
  });
});
