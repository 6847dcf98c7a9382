import { createTestDatabase, TestDatabase } from '@nco/cib/testing';
import { connectNats, NatsBus, NcoError, silentLogger, Subjects } from '@nco/events';
import { NatsServerHandle, startNatsServer } from '@nco/events/testing';
import { createService, RunningService } from '@nco/runtime';
import { orchestrator } from '../app';

/** Check-in through the running orchestrator, on a private NATS server and a fresh CIB. */
describe('check-in (orchestrator, real Postgres and NATS)', () => {
  let db: TestDatabase;
  let nats: NatsServerHandle;
  let bus: NatsBus;
  const services: RunningService[] = [];

  const start = async (extra: Record<string, string> = {}) => {
    const svc = await createService(orchestrator, {
      DATABASE_URL: db.url,
      NATS_URL: nats.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'silent',
      ...extra,
    });
    services.push(svc);
    return svc;
  };
  const stopAll = async () => {
    await Promise.all(services.splice(0).map((s) => s.close()));
  };
  const checkin = (body: Record<string, unknown>) => bus.request(Subjects.device.checkin, undefined, body as never);
  const hostRows = () => db.ds.query(`SELECT host_id, mac, release, ip FROM hosts ORDER BY host_id`);

  beforeAll(async () => {
    [db, nats] = await Promise.all([createTestDatabase(), startNatsServer()]);
    bus = new NatsBus(await connectNats({ servers: nats.url, name: 'test', failFast: true }, silentLogger), silentLogger);
  });
  afterEach(async () => {
    await stopAll();
    await db.truncate();
  });
  afterAll(async () => {
    await bus.close();
    await Promise.all([db.drop(), nats.close()]);
  });

  it('gives a new MAC a sequential host id and the same MAC the same id again', async () => {
    await start();
    const a = await checkin({ mac: '02:00:00:00:00:0A', release: '6.1.0-27-amd64' });
    const b = await checkin({ mac: '02:00:00:00:00:0b', release: '6.1.0-27-amd64' });
    const again = await checkin({ mac: '02:00:00:00:00:0a', release: '6.1.0-27-amd64' });
    expect(a).toEqual({ hostId: 1, isNew: true, reportIntervalMs: 5000 });
    expect(b.hostId).toBe(2);
    expect(again).toEqual({ hostId: 1, isNew: false, reportIntervalMs: 5000 });
    expect(await hostRows()).toHaveLength(2);
  });

  it('records a release and address change and audits it', async () => {
    await start();
    const { hostId } = await checkin({ mac: '02:00:00:00:00:01', release: '6.1.0', ip: '10.0.0.1' });
    await checkin({ mac: '02:00:00:00:00:01', release: '6.1.1', ip: '10.0.0.9', port: 4000 });
    expect(await hostRows()).toEqual([{ host_id: hostId, mac: '02:00:00:00:00:01', release: '6.1.1', ip: '10.0.0.9' }]);
    const audit = await db.ds.query(`SELECT action, details FROM audit_log WHERE host_id = $1 ORDER BY id`, [hostId]);
    expect(audit.map((a: { action: string }) => a.action)).toEqual(['host.registered', 'host.changed']);
    expect(audit[1].details.changes.release).toEqual({ from: '6.1.0', to: '6.1.1' });
  });

  it('registers a middlebox with its type', async () => {
    await start();
    const { hostId } = await checkin({ mac: '02:00:00:00:00:0c', release: '6.1.0', middleboxType: 'wireshark' });
    expect(await db.ds.query(`SELECT host_id, type FROM middleboxes`)).toEqual([{ host_id: hostId, type: 'wireshark' }]);
  });

  it('assigns random ids and from the last IPv4 octet, refusing an octet another MAC holds', async () => {
    await start({ HOST_ID_MODE: 'random' });
    const r = await checkin({ mac: '02:00:00:00:01:01', release: '6.1.0' });
    expect(r.hostId).toBeGreaterThan(0);
    await stopAll();
    await start({ HOST_ID_MODE: 'ipv4-octet' });
    expect((await checkin({ mac: '02:00:00:00:01:02', release: '6.1.0', ip: '10.1.2.77' })).hostId).toBe(77);
    await expect(checkin({ mac: '02:00:00:00:01:03', release: '6.1.0', ip: '10.9.9.77' })).rejects.toMatchObject({ code: 'conflict' });
    await expect(checkin({ mac: '02:00:00:00:01:04', release: '6.1.0' })).rejects.toMatchObject({ code: 'invalid_request' });
  });

  it('checks in a thousand devices at once in few statements, each with its own id', async () => {
    await start();
    const macs = Array.from({ length: 1000 }, (_, i) => `02:00:00:01:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`);
    const replies = await Promise.all(macs.map((mac) => checkin({ mac, release: '6.1.0' })));
    expect(new Set(replies.map((r) => r.hostId)).size).toBe(1000);
    expect((await db.ds.query(`SELECT count(*)::int AS n FROM hosts`))[0].n).toBe(1000);
  });

  it.each([
    ['wrong types', { mac: 12, release: '6.1.0' }, /body\.mac/],
    ['a missing field', { mac: '02:00:00:00:00:01' }, /body\.release/],
    ['a bad middlebox type', { mac: '02:00:00:00:00:01', release: '6.1.0', middleboxType: 'Bad Type' }, /middleboxType/],
  ])('refuses a check-in with %s and changes nothing', async (_, body, reason) => {
    await start();
    const err: NcoError = await checkin(body).catch((e) => e);
    expect(err).toBeInstanceOf(NcoError);
    expect(err.code).toBe('invalid_message');
    expect(err.message).toMatch(reason);
    expect(await hostRows()).toEqual([]);
  });

  it('refuses raw garbage and an oversized check-in with a specific error', async () => {
    await start();
    const raw = async (data: Uint8Array) => JSON.parse(new TextDecoder().decode((await bus.nc.request('nco.checkin', data, { timeout: 3000 })).data));
    const notJson = await raw(new TextEncoder().encode('not json'));
    expect(notJson).toMatchObject({ type: 'error', body: { code: 'invalid_message', message: 'message is not valid JSON' } });
    const big = await raw(new Uint8Array(10_000).fill(32));
    expect(big.body.message).toMatch(/limit is 4096/);
    expect(await hostRows()).toEqual([]);
  });

  it('lists hosts for operators with filters', async () => {
    await start();
    await checkin({ mac: '02:00:00:00:00:01', release: '6.1.0' });
    await checkin({ mac: '02:00:00:00:00:02', release: '6.1.0' });
    await db.ds.query(`UPDATE hosts SET online = false, labels = '{"rack":"a"}' WHERE host_id = 2`);
    const all = await bus.request(Subjects.cmd.hostsList, undefined, { limit: 10 });
    expect(all.total).toBe(2);
    expect(all.hosts[0]).toMatchObject({ hostId: 1, mac: '02:00:00:00:00:01', online: true, moduleCount: 0 });
    const offline = await bus.request(Subjects.cmd.hostsList, undefined, { online: false, limit: 10 });
    expect(offline.hosts.map((h) => h.hostId)).toEqual([2]);
    const rack = await bus.request(Subjects.cmd.hostsList, undefined, { labels: { rack: 'a' }, limit: 10 });
    expect(rack.hosts.map((h) => h.hostId)).toEqual([2]);
  });
});
