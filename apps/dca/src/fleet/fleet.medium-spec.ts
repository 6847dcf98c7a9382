import { connectNats, decodeEnvelope, NatsBus, silentLogger, Subjects } from '@nco/events';
import { NatsServerHandle, pollUntil, startNatsServer } from '@nco/events/testing';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import pino from 'pino';
import { stampedKo } from '../testing/stamped-artifacts';
import { FakeNco } from './fake-nco';
import { Fleet } from './fleet';

// A server of its own: other suites' fake NCOs on a shared server would answer this one's check-ins.
let natsServer: NatsServerHandle;
let NATS_URL: string;

/**
 * A fleet of 50 devices and 2 middleboxes against the shared NATS server and a fake NCO. Host ids
 * start at a random base and MACs use a random prefix, so other test runs on the same server
 * cannot be confused with ours; everything received is filtered by our host ids.
 */
describe('Fleet (real NATS)', () => {
  const base = randomInt(1_000_000, 2_000_000_000);
  const macPrefix = `02:${randomBytes(2).toString('hex').replace(/(..)(..)/, '$1:$2')}`;
  let bus: NatsBus;
  let nco: FakeNco;
  let fleet: Fleet;

  const reportsOf = (hostId: number) => nco.reports.get(hostId)?.count ?? 0;
  const hostIds = () => fleet.devices.map((d) => d.hostId as number);

  beforeAll(async () => {
    natsServer = await startNatsServer();
    NATS_URL = natsServer.url;
    bus = new NatsBus(await connectNats({ servers: NATS_URL, name: 'dca-fleet-test', failFast: true }, silentLogger), silentLogger);
    nco = new FakeNco(bus, { firstHostId: base, reportIntervalMs: 200, watchReports: true });
    await nco.start();
    fleet = new Fleet({
      nats: { servers: NATS_URL, name: 'dca-fleet-under-test' },
      size: 50,
      middleboxes: { wireshark: 2 },
      release: '6.1.0-sim-amd64',
      macPrefix,
      logger: pino({ level: 'silent' }),
    });
    await fleet.start();
  });

  afterAll(async () => {
    await fleet?.stop();
    nco?.stop();
    await bus?.close();
  });

  it('checks every device in with its own MAC and host id', () => {
    expect(fleet.devices).toHaveLength(52);
    expect(fleet.checkedIn).toBe(52);
    expect(new Set(fleet.devices.map((d) => d.mac)).size).toBe(52);
    expect(new Set(hostIds()).size).toBe(52);
    for (const d of fleet.devices) {
      expect(d.mac.startsWith(macPrefix)).toBe(true);
      expect(nco.hostIds.get(d.mac)).toBe(d.hostId);
      expect(fleet.device(d.hostId as number)).toBe(d);
    }
    const middleboxes = fleet.devices.filter((d) => nco.lastCheckin.get(d.mac)?.middleboxType === 'wireshark');
    expect(middleboxes.map((d) => d.mac)).toEqual(fleet.devices.slice(50).map((d) => d.mac));
    expect(nco.lastCheckin.get(fleet.devices[0].mac)).toMatchObject({ release: '6.1.0-sim-amd64', agent: { driver: 'simulated' } });
  });

  it('reports at check-in and every interval, in valid envelopes with a rising seq', async () => {
    await pollUntil(() => hostIds().every((id) => reportsOf(id) >= 3), 'three reports from every device', 15_000);
    for (const id of hostIds()) {
      const r = nco.reports.get(id)!;
      expect(r.outOfOrder).toBe(0);
      expect(r.last).toMatchObject({ v: 1, type: 'dca.report', hostId: id, body: { reason: 'interval' } });
    }
    // Decoded straight off the wire with the contract, on the device's own subject.
    const id = hostIds()[7];
    const raw = await new Promise<Uint8Array>((resolve) => {
      bus.nc.subscribe(Subjects.device.report.subject({ hostId: id }), { max: 1, callback: (_e, m) => resolve(m.data) });
    });
    const env = decodeEnvelope(raw, Subjects.device.report.envelope, Subjects.device.report.maxBytes);
    expect(env).toMatchObject({ hostId: id, body: { kernel: { Installed: [], Deprecated: [], Revoked: [] } } });
  });

  it('answers a report request with the current kernel state and publishes it too', async () => {
    const device = fleet.devices[3];
    const hostId = device.hostId as number;
    const driver = device.driver;
    await driver.install(stampedKo({ moduleId: 21 }), { moduleId: 21, params: {} });
    driver.openSocket(21);
    driver.forceInstall(999);
    const reply = await bus.request(Subjects.device.requestReport, { hostId }, {}, { hostId });
    expect(reply.reason).toBe('request');
    expect(reply.kernel.Installed).toEqual([
      expect.objectContaining({ ID: 21, Activated: 1, Count: 1 }),
      expect.objectContaining({ ID: 999, Activated: 1, Count: 0 }),
    ]);
    await pollUntil(() => (nco.reports.get(hostId)!.last!.body.seq >= reply.seq ? true : undefined), 'the request report on the stream');
    // A command for another host on this device's subject is refused.
    await expect(bus.request(Subjects.device.requestReport, { hostId }, {}, { hostId: hostId + 1 })).rejects.toMatchObject({
      code: 'invalid_request',
    });
  });

  it('hands out the core Module.symvers for its kernel release', async () => {
    const hostId = fleet.devices[5].hostId as number;
    const reply = await bus.request(Subjects.device.symvers, { hostId }, {}, { hostId });
    const content = Buffer.from(reply.contentBase64, 'base64');
    expect(reply.release).toBe('6.1.0-sim-amd64');
    expect(createHash('sha256').update(content).digest('hex')).toBe(reply.sha256);
    expect(content.toString()).toContain('l45_register_customization');
  });

  it('reportNow publishes a change report', async () => {
    const device = fleet.devices[4];
    device.driver.forceInstall(4242);
    await fleet.reportNow(device.hostId);
    await pollUntil(
      () => nco.reports.get(device.hostId!)!.last!.body.kernel.Installed.some((m) => m.ID === 4242),
      'the change report with module 4242',
    );
  });

  it('a stopped device goes quiet and comes back when started', async () => {
    const stopped = fleet.devices[10];
    const hostId = stopped.hostId as number;
    const others = hostIds().filter((id) => id !== hostId);
    const othersGet = async (n: number) => {
      const target = new Map(others.map((id) => [id, reportsOf(id) + n]));
      await pollUntil(() => others.every((id) => reportsOf(id) >= target.get(id)!), `${n} more reports from the others`, 15_000);
    };
    await fleet.stopDevice(hostId);
    expect(stopped.state).toBe('stopped');
    await othersGet(2); // whatever it sent before stopping has arrived by now
    const quietFrom = reportsOf(hostId);
    await othersGet(3);
    expect(reportsOf(hostId)).toBe(quietFrom);
    await expect(bus.request(Subjects.device.requestReport, { hostId }, {}, { timeoutMs: 300 })).rejects.toMatchObject({ code: 'timeout' });

    const checkins = nco.checkins.get(stopped.mac)!;
    await fleet.startDevice(hostId);
    expect(stopped.hostId).toBe(hostId);
    expect(nco.checkins.get(stopped.mac)).toBe(checkins + 1);
    await pollUntil(() => reportsOf(hostId) >= quietFrom + 2, 'reports from the restarted device');
  });
  // Last: the suite's connections drain first.
  afterAll(async () => natsServer?.close());
});
