import { connectNats, NatsBus, silentLogger, Subjects } from '@nco/events';
import { NatsServerHandle, pollUntil, startNatsServer } from '@nco/events/testing';
import { createHash, randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent } from '../agent/agent';
import { SoloRuntime } from '../agent/solo.runtime';
import { SimulatedDriver } from '../driver/simulated.driver';
import { FakeNco } from '../fleet/fake-nco';
import { InverseKeeper } from './inverse-keeper';
import { DirInverseStore } from './inverse-store';

// A server of its own: other suites' fake NCOs on a shared server would answer this one's check-ins.
let natsServer: NatsServerHandle;
let NATS_URL: string;
const LUA = readFileSync(join(__dirname, '../../../../modules/dns-tag/inverse/wireshark/l45_dns_tag.lua'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A middlebox DCA as main.ts runs it (its own connection, a folder for inverse modules) over real NATS. */
describe('middlebox DCA (real NATS, inverse folder on disk)', () => {
  let ncoBus: NatsBus;
  let dcaBus: NatsBus;
  let nco: FakeNco;
  let dir: string;

  beforeAll(async () => {
    natsServer = await startNatsServer();
    NATS_URL = natsServer.url;
    ncoBus = new NatsBus(await connectNats({ servers: NATS_URL, name: 'fake-nco', failFast: true }, silentLogger), silentLogger);
    dcaBus = new NatsBus(await connectNats({ servers: NATS_URL, name: 'middlebox', failFast: true }, silentLogger), silentLogger);
    nco = new FakeNco(ncoBus, { firstHostId: randomInt(1_000_000, 2_000_000_000), reportIntervalMs: 100, watchReports: true });
    await nco.start();
    dir = join(mkdtempSync(join(tmpdir(), 'middlebox-')), 'inverse');
  });
  afterAll(async () => {
    nco.stop();
    await Promise.all([ncoBus.close(), dcaBus.close()]);
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });

  it('checks in with its type, writes and removes inverse modules on command, and reports what it holds', async () => {
    const runtime = new SoloRuntime(dcaBus, silentLogger);
    const agent = new Agent({
      bus: dcaBus,
      driver: new SimulatedDriver(),
      runtime,
      logger: silentLogger,
      identity: { mac: '02:fe:00:00:00:01', release: '6.1.0-27-amd64', middleboxType: 'wireshark' },
      inverse: new InverseKeeper(new DirInverseStore(dir), silentLogger),
    });
    await agent.start();
    await dcaBus.nc.flush();
    const hostId = agent.hostId!;
    expect(nco.lastCheckin.get('02:fe:00:00:00:01')).toMatchObject({ middleboxType: 'wireshark' });
    expect(nco.reports.get(hostId)?.last?.body.inverse ?? []).toEqual([]);

    const body = { module: 'dns-tag', file: 'l45_dns_tag.lua', size: LUA.length, sha256: sha(LUA), contentBase64: LUA.toString('base64') };
    expect(await ncoBus.request(Subjects.device.inverseInstall, { hostId }, body, { hostId })).toEqual({ file: 'l45_dns_tag.lua', outcome: 'installed' });
    expect(readFileSync(join(dir, 'l45_dns_tag.lua'))).toEqual(LUA);
    expect(readdirSync(dir)).toEqual(['l45_dns_tag.lua']);
    await pollUntil(() => nco.reports.get(hostId)?.last?.body.inverse?.length === 1, 'a report listing the file');
    expect(nco.reports.get(hostId)!.last!.body.inverse).toEqual([{ file: 'l45_dns_tag.lua', sha256: sha(LUA), size: LUA.length }]);

    // A bad command is refused with the reason, and changes nothing on disk.
    await expect(ncoBus.request(Subjects.device.inverseInstall, { hostId }, { ...body, sha256: '0'.repeat(64) }, { hostId })).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringMatching(/the command says 0{64}/),
    });
    await expect(ncoBus.request(Subjects.device.inverseRemove, { hostId }, { module: 'dns-tag', file: '../etc/passwd' } as never, { hostId })).rejects.toMatchObject({
      code: 'invalid_message',
    });
    expect(readFileSync(join(dir, 'l45_dns_tag.lua'))).toEqual(LUA);

    expect(await ncoBus.request(Subjects.device.inverseRemove, { hostId }, { module: 'dns-tag', file: 'l45_dns_tag.lua' }, { hostId })).toEqual({ file: 'l45_dns_tag.lua', outcome: 'removed' });
    expect(existsSync(join(dir, 'l45_dns_tag.lua'))).toBe(false);
    await pollUntil(() => nco.reports.get(hostId)?.last?.body.inverse?.length === 0, 'a report without the file');
    await agent.stop();
    await runtime.drained();
  });

  it('a device that is not a middlebox refuses inverse commands', async () => {
    const runtime = new SoloRuntime(dcaBus, silentLogger);
    const agent = new Agent({ bus: dcaBus, driver: new SimulatedDriver(), runtime, logger: silentLogger, identity: { mac: '02:fe:00:00:00:02', release: '6.1.0-27-amd64' } });
    await agent.start();
    // The server has the device's command subscriptions once its connection is flushed.
    await dcaBus.nc.flush();
    const hostId = agent.hostId!;
    await expect(ncoBus.request(Subjects.device.inverseRemove, { hostId }, { module: 'dns-tag', file: 'l45_dns_tag.lua' }, { hostId })).rejects.toMatchObject({
      code: 'invalid_request',
      message: 'this device is not a middlebox: it keeps no inverse modules',
    });
    expect(nco.reports.get(hostId)?.last?.body.inverse).toBeUndefined();
    await agent.stop();
    await runtime.drained();
  });
  // Last: the suite's connections drain first.
  afterAll(async () => natsServer?.close());
});
