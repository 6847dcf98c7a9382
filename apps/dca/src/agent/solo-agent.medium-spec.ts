import { connectNats, NatsBus, silentLogger, Subjects } from '@nco/events';
import { NatsServerHandle, pollUntil, startNatsServer } from '@nco/events/testing';
import { randomInt } from 'node:crypto';
import { SimulatedDriver } from '../driver/simulated.driver';
import { FakeNco } from '../fleet/fake-nco';
import { stampedKo } from '../testing/stamped-artifacts';
import { Agent } from './agent';
import { SoloRuntime } from './solo.runtime';

// A server of its own: other suites' fake NCOs on a shared server would answer this one's check-ins.
let natsServer: NatsServerHandle;
let NATS_URL: string;

/** One DCA as main.ts runs it: its own connection, timer and command subscription. */
describe('Agent with SoloRuntime (real NATS)', () => {
  let ncoBus: NatsBus;
  let dcaBus: NatsBus;
  let nco: FakeNco;

  beforeAll(async () => {
    natsServer = await startNatsServer();
    NATS_URL = natsServer.url;
    ncoBus = new NatsBus(await connectNats({ servers: NATS_URL, name: 'fake-nco', failFast: true }, silentLogger), silentLogger);
    dcaBus = new NatsBus(await connectNats({ servers: NATS_URL, name: 'dca', failFast: true }, silentLogger), silentLogger);
    nco = new FakeNco(ncoBus, { firstHostId: randomInt(1_000_000, 2_000_000_000), reportIntervalMs: 100, watchReports: true });
    await nco.start();
  });

  afterAll(async () => {
    nco.stop();
    await Promise.all([ncoBus.close(), dcaBus.close()]);
  });

  it('checks in, reports on its interval, answers requests, and goes silent when stopped', async () => {
    const runtime = new SoloRuntime(dcaBus, silentLogger);
    const driver = new SimulatedDriver();
    const agent = new Agent({ bus: dcaBus, driver, runtime, logger: silentLogger, identity: { mac: '02:ff:00:00:00:01', release: '6.1.0-27-amd64', ip: '10.1.2.3' } });
    await agent.start();
    const hostId = agent.hostId as number;
    expect(nco.lastCheckin.get('02:ff:00:00:00:01')).toMatchObject({ ip: '10.1.2.3', agent: { driver: 'simulated' } });
    await pollUntil(() => nco.reports.get(hostId)!.count >= 3, 'interval reports');
    expect(nco.reports.get(hostId)!.outOfOrder).toBe(0);

    await driver.install(stampedKo({ moduleId: 3, activate: 0 }), { moduleId: 3, params: {} });
    const reply = await ncoBus.request(Subjects.device.requestReport, { hostId }, {}, { hostId });
    expect(reply.kernel.Installed).toEqual([expect.objectContaining({ ID: 3, Activated: 0 })]);

    await agent.stop();
    await runtime.drained();
    await dcaBus.nc.flush();
    // No subscription left: the request finds no responder at all.
    await expect(ncoBus.request(Subjects.device.requestReport, { hostId }, {})).rejects.toMatchObject({ code: 'unavailable' });
  });
  // Last: the suite's connections drain first.
  afterAll(async () => natsServer?.close());
});
