import { connectNats, NatsBus, ReportBody, silentLogger, Subjects } from '@nco/events';
import { NatsServerHandle, pollUntil, startNatsServer } from '@nco/events/testing';
import { randomBytes, randomInt } from 'node:crypto';
import pino from 'pino';
import { installCommand, stampedKo } from '../testing/stamped-artifacts';
import { FakeNco } from './fake-nco';
import { Fleet } from './fleet';

// A server of its own: other suites' fake NCOs on a shared server would answer this one's check-ins.
let natsServer: NatsServerHandle;
let NATS_URL: string;

/**
 * A test "NCO" drives a module's whole lifecycle on a fleet device over real NATS, with the
 * contracts' request/reply subjects, and follows it in the device's reports. The report interval
 * is long, so every report seen here is the change report the device publishes after a command.
 */
describe('Module lifecycle on a fleet device (real NATS)', () => {
  const macPrefix = `02:${randomBytes(2).toString('hex').replace(/(..)(..)/, '$1:$2')}`;
  let bus: NatsBus;
  let nco: FakeNco;
  let fleet: Fleet;
  const seen: Array<{ hostId: number; body: ReportBody }> = [];
  const subs: Array<{ unsubscribe(): void }> = [];

  beforeAll(async () => {
    natsServer = await startNatsServer();
    NATS_URL = natsServer.url;
    bus = new NatsBus(await connectNats({ servers: NATS_URL, name: 'dca-lifecycle-test', failFast: true }, silentLogger), silentLogger);
    nco = new FakeNco(bus, { firstHostId: randomInt(1_000_000, 2_000_000_000), reportIntervalMs: 600_000 });
    await nco.start();
    fleet = new Fleet({ nats: { servers: NATS_URL, name: 'dca-lifecycle-fleet' }, size: 2, release: '6.1.0-sim-amd64', macPrefix, logger: pino({ level: 'silent' }) });
    await fleet.start();
    for (const d of fleet.devices) {
      const subject = Subjects.device.report.subject({ hostId: d.hostId as number });
      subs.push(bus.subscribe(Subjects.device.report, ({ env }) => void seen.push({ hostId: env.hostId as number, body: env.body }), { subject }));
    }
    await bus.nc.flush();
  });

  afterAll(async () => {
    subs.forEach((s) => s.unsubscribe());
    await fleet?.stop();
    nco?.stop();
    await bus?.close();
  });

  /** The next report of `hostId` after `from` (an index into `seen`) that satisfies `check`. */
  const nextReport = (hostId: number, from: number, what: string, check: (r: ReportBody) => boolean) =>
    pollUntil(() => seen.slice(from).find((s) => s.hostId === hostId && check(s.body))?.body, what);

  it('installs, toggles, re-prioritises, deprecates and revokes a stamped module, each seen in the next report', async () => {
    const hostId = fleet.devices[0].hostId as number;
    const other = fleet.devices[1];
    const moduleId = randomInt(1, 65_535);
    const ko = stampedKo({ moduleId, priority: 100, activate: 1 });
    const cmd = installCommand(ko, moduleId, { dst_port: 53 });
    const opts = { hostId };

    let mark = seen.length;
    expect(await bus.request(Subjects.device.install, { hostId }, cmd, opts)).toEqual({ ID: moduleId, Result: 1 });
    let r = await nextReport(hostId, mark, 'the change report after install', (b) => b.kernel.Installed.some((m) => m.ID === moduleId));
    expect(r.reason).toBe('change');
    expect(r.kernel.Installed).toEqual([expect.objectContaining({ ID: moduleId, Activated: 1, Count: 0 })]);

    // The same artifact again: Result 1, nothing reloaded.
    const ts = r.kernel.Installed[0].ts;
    expect(await bus.request(Subjects.device.install, { hostId }, cmd, opts)).toEqual({ ID: moduleId, Result: 1 });
    expect((await fleet.devices[0].driver.report()).Installed[0].ts).toBe(ts);

    mark = seen.length;
    expect(await bus.request(Subjects.device.toggle, { hostId }, { moduleId, mode: 0 }, opts)).toEqual({ ID: moduleId, Result: 1 });
    await nextReport(hostId, mark, 'the report after toggle', (b) => b.kernel.Installed.some((m) => m.ID === moduleId && m.Activated === 0));

    mark = seen.length;
    expect(await bus.request(Subjects.device.priority, { hostId }, { moduleId, priority: 200 }, opts)).toEqual({ ID: moduleId, Result: 1 });
    await nextReport(hostId, mark, 'the report after priority', (b) => b.reason === 'change');
    expect(fleet.devices[0].driver.inspect(moduleId)?.priority).toBe(200);
    // The core refuses a module it does not have: Result 0.
    const unknown = moduleId + 1; // randomInt above stops at 65534
    expect(await bus.request(Subjects.device.priority, { hostId }, { moduleId: unknown, priority: 5 }, opts)).toEqual({ ID: unknown, Result: 0 });

    mark = seen.length;
    expect(await bus.request(Subjects.device.deprecate, { hostId }, { moduleId }, opts)).toEqual({ ID: moduleId, Result: 1 });
    r = await nextReport(hostId, mark, 'the report after deprecate', (b) => b.kernel.Deprecated.some((m) => m.ID === moduleId));
    expect(r.kernel.Installed).toEqual([]);

    mark = seen.length;
    expect(await bus.request(Subjects.device.revoke, { hostId }, { moduleId }, opts)).toEqual({ ID: moduleId, Result: 1 });
    r = await nextReport(hostId, mark, 'the report after revoke', (b) => b.kernel.Revoked.some((m) => m.ID === moduleId));
    expect(r.kernel).toMatchObject({ Installed: [], Deprecated: [] });
    expect(await bus.request(Subjects.device.revoke, { hostId }, { moduleId }, opts)).toEqual({ ID: moduleId, Result: 1 });

    // Nothing of it reached the other device.
    expect(await other.driver.report()).toEqual({ Installed: [], Deprecated: [], Revoked: [] });
  });

  it('refuses a tampered artifact or one meant for another module with a clear error over the wire', async () => {
    const hostId = fleet.devices[1].hostId as number;
    const ko = stampedKo({ moduleId: 77, priority: 7 });
    const tampered = installCommand(ko, 77);
    tampered.sha256 = '0'.repeat(64);
    await expect(bus.request(Subjects.device.install, { hostId }, tampered, { hostId })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/^artifact sha256 is [0-9a-f]{64}, the command says 0{64}$/),
    });
    await expect(bus.request(Subjects.device.install, { hostId }, { ...installCommand(ko, 77), moduleId: 78 }, { hostId })).rejects.toMatchObject({
      code: 'invalid_request',
      message: 'artifact is for module 77, not 78',
    });
    expect((await fleet.devices[1].driver.report()).Installed).toEqual([]);
  });
  // Last: the suite's connections drain first.
  afterAll(async () => natsServer?.close());
});
