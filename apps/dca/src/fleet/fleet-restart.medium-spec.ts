import { connectNats, NatsBus, silentLogger, Subjects } from '@nco/events';
import { NatsServerHandle, pollUntil, startNatsServer } from '@nco/events/testing';
import pino from 'pino';
import { FakeNco } from './fake-nco';
import { Fleet } from './fleet';

/** NATS restarts under a running fleet, and the NCO comes back with no memory of the devices. */
describe('Fleet across a NATS restart (private nats-server)', () => {
  let nats: NatsServerHandle;
  let bus: NatsBus;
  let fleet: Fleet;
  const ncos: FakeNco[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    // Not failFast: the fake NCO must reconnect too.
    bus = new NatsBus(await connectNats({ servers: nats.url, name: 'fake-nco' }, silentLogger), silentLogger);
  });

  afterAll(async () => {
    await fleet?.stop();
    ncos.forEach((n) => n.stop());
    await bus?.close();
    await nats?.close();
  });

  it('checks in again after the reconnect and reports resume, under new host ids if the NCO was reset', async () => {
    const before = new FakeNco(bus, { firstHostId: 100, reportIntervalMs: 150, watchReports: true });
    ncos.push(before);
    await before.start();
    fleet = new Fleet({
      nats: { servers: nats.url, name: 'fleet-under-test' },
      size: 3,
      release: '6.1.0-sim-amd64',
      logger: pino({ level: 'silent' }),
      backoff: { initialMs: 50, maxMs: 500 },
    });
    await fleet.start();
    expect(fleet.devices.map((d) => d.hostId)).toEqual([100, 101, 102]);
    await pollUntil(() => [100, 101, 102].every((id) => before.reports.get(id)!.count >= 2), 'reports before the restart');

    // The NCO loses its state while NATS is down: it will hand out different host ids.
    before.stop();
    const after = new FakeNco(bus, { firstHostId: 500, reportIntervalMs: 150, watchReports: true });
    ncos.push(after);
    await nats.restart();
    await pollUntil(() => bus.nc.flush().then(() => true), 'the fake NCO reconnected');
    await after.start();

    await pollUntil(() => fleet.devices.every((d) => after.checkins.get(d.mac) === 1), 'every device checked in again', 20_000);
    await pollUntil(() => fleet.devices.every((d) => d.hostId !== undefined && d.hostId >= 500), 'devices on their new host ids');
    const ids = fleet.devices.map((d) => d.hostId as number).sort();
    expect(ids).toEqual([500, 501, 502]);
    await pollUntil(() => ids.every((id) => after.reports.get(id)!.count >= 3), 'reports after the restart', 20_000);
    expect(ids.every((id) => after.reports.get(id)!.outOfOrder === 0)).toBe(true);

    // Commands follow the new host ids.
    const reply = await bus.request(Subjects.device.requestReport, { hostId: 501 }, {});
    expect(reply.reason).toBe('request');
    expect(fleet.device(501)?.mac).toBe(fleet.devices.find((d) => d.hostId === 501)?.mac);
    expect(fleet.device(101)).toBeUndefined();
  });
});
