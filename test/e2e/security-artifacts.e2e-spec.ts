import { CommandSigner, Envelope, InstallCommand, makeEnvelope, parseSigningKey, Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { Fleet } from '../../apps/dca/src/fleet/fleet';
import { TestSystem } from '../support/system';
import { buildAndInstall, deploymentsOf, lifecycleSystem, RELEASE, settled } from './lifecycle-support';
import { cibSnapshot, sendRaw } from './security-support';

/**
 * Signed, confidential artifacts through the running services: deploy-svc seals each module to
 * its device's enrolled X25519 key inside the signed install command; the DCA opens it before
 * anything reads it. An altered artifact, or one sealed for another device, is refused and
 * changes neither the device nor the CIB.
 */
describe('security: sealed artifacts', () => {
  const sys: TestSystem = lifecycleSystem(17, { reportIntervalMs: 500 });
  let fleet: Fleet;
  let hosts: number[];
  const installs = new Map<number, Envelope<InstallCommand>>();
  const moduleOf = new Map<number, number>();
  const signer = () => new CommandSigner(parseSigningKey(sys.signingKey!.privateSpec));

  beforeAll(async () => {
    await sys.start();
    fleet = await sys.fleet(2, { release: RELEASE, macPrefix: '02:e8:00' });
    hosts = fleet.devices.map((d) => d.hostId!);
    // What an eavesdropper on NATS sees of the installs.
    sys.bus.nc.subscribe('nco.dev.*.cmd.install', { callback: (_, m) => installs.set(Number(m.subject.split('.')[2]), JSON.parse(new TextDecoder().decode(m.data))) });
    const operationId = await buildAndInstall(sys, hosts);
    expect(await settled(sys, operationId, 120_000)).toMatchObject({ status: 'succeeded', succeeded: hosts.length });
    for (const d of await deploymentsOf(sys, operationId)) moduleOf.set(d.host_id, d.module_id);
  }, 180_000);
  afterAll(() => sys.stop());

  /** A captured install, changed by `edit`, re-addressed to `hostId` and signed again with the NCO's own key. */
  function forge(from: number, hostId: number, edit: (body: InstallCommand) => void = () => undefined) {
    const body = structuredClone(installs.get(from)!.body);
    edit(body);
    return signer().sign(makeEnvelope(Subjects.device.install.type, body, { hostId }), Subjects.device.install.subject({ hostId }));
  }

  async function refused(hostId: number, env: Envelope<unknown>, message: RegExp) {
    const before = await cibSnapshot(sys);
    const modules = await fleet.device(hostId)!.driver.report();
    const reply = await sendRaw(sys, Subjects.device.install.subject({ hostId }), env);
    expect(reply).toMatchObject({ type: 'error', body: { code: 'invalid_request', message: expect.stringMatching(message) } });
    expect(await fleet.device(hostId)!.driver.report()).toEqual(modules);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await cibSnapshot(sys)).toEqual(before);
  }

  it('installs travel sealed (no artifact in clear) and the devices loaded them', async () => {
    await pollUntil(async () => installs.size === 2, 'both installs seen');
    for (const h of hosts) {
      const body = installs.get(h)!.body;
      expect(body.artifactBase64).toBeUndefined();
      expect(body.sealed).toMatchObject({ alg: 'x25519-hkdf-sha256-aes256gcm', ct: expect.any(String) });
      expect(fleet.device(h)!.driver.inspect(moduleOf.get(h)!)).toMatchObject({ hasKey: true, sha256: body.sha256 });
    }
  });

  it('refuses a tampered artifact, even inside a validly signed command', async () => {
    const [h] = hosts;
    const flipped = forge(h, h, (b) => {
      const ct = Buffer.from(b.sealed!.ct, 'base64');
      ct[100] ^= 1;
      b.sealed!.ct = ct.toString('base64');
    });
    await refused(h, flipped, /does not open with device [0-9a-f]{16}'s key/);
  });

  it('refuses a tampered artifact whose command signature no longer matches', async () => {
    const [h] = hosts;
    const env = structuredClone(installs.get(h)!);
    const ct = Buffer.from(env.body.sealed!.ct, 'base64');
    ct[100] ^= 1;
    env.body.sealed!.ct = ct.toString('base64');
    await refused(h, env, /signature .* does not verify|already used/);
  });

  it('refuses an artifact sealed for another device', async () => {
    const [a, b] = hosts;
    await refused(b, forge(a, b), /does not open with device/);
  });

  it('refuses an artifact in clear on a device with an identity', async () => {
    const [h] = hosts;
    const clear = forge(h, h, (b) => {
      delete b.sealed;
      b.artifactBase64 = Buffer.from('not the module').toString('base64');
    });
    await refused(h, clear, /not sealed to this device/);
  });
});
