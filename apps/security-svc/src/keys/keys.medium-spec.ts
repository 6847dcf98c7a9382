import { createTestDatabase, TestDatabase } from '@nco/cib/testing';
import { connectNats, NatsBus, silentLogger, Subjects } from '@nco/events';
import { NatsServerHandle, startNatsServer } from '@nco/events/testing';
import { createService, RunningService } from '@nco/runtime';
import { randomBytes } from 'node:crypto';
import { securityService } from '../app';

describe('module keys (security-svc, real Postgres and NATS)', () => {
  let db: TestDatabase;
  let nats: NatsServerHandle;
  let bus: NatsBus;
  let svc: RunningService | undefined;
  const kek1 = randomBytes(32).toString('base64');
  const kek2 = randomBytes(32).toString('base64');

  const start = async (env: Record<string, string>) => {
    svc = await createService(securityService, { DATABASE_URL: db.url, NATS_URL: nats.url, HTTP_PORT: '0', LOG_LEVEL: 'silent', ...env });
  };

  beforeAll(async () => {
    [db, nats] = await Promise.all([createTestDatabase(), startNatsServer()]);
    bus = new NatsBus(await connectNats({ servers: nats.url, name: 'test', failFast: true }, silentLogger), silentLogger);
  });
  afterEach(async () => {
    await svc?.close();
    svc = undefined;
  });
  afterAll(async () => {
    await bus.close();
    await Promise.all([db.drop(), nats.close()]);
  });

  it('refuses to start without a valid KEK, naming the setting', async () => {
    await expect(start({ NCO_KEK: 'short' })).rejects.toThrow(/NCO_KEK: expected 32 bytes/);
  });

  it('issues fresh keys, stores them only wrapped, returns them to services, and re-wraps on KEK rotation', async () => {
    await start({ NCO_KEK: kek1, NCO_KEK_ID: 'k1' });
    const { keys } = await bus.request(Subjects.svc.keysIssue, undefined, { count: 500 });
    expect(keys).toHaveLength(500);
    const raw = keys.map((k) => Buffer.from(k.keyBase64, 'base64'));
    expect(raw.every((k) => k.length === 32)).toBe(true);
    expect(new Set(keys.map((k) => k.keyBase64)).size).toBe(500);
    const stored: Array<{ id: string; wrapped: Buffer; kek_id: string }> = await db.ds.query(`SELECT id, wrapped, kek_id FROM module_keys`);
    expect(stored).toHaveLength(500);
    expect(stored.every((s) => s.kek_id === 'k1' && !s.wrapped.includes(raw[keys.findIndex((k) => k.keyId === s.id)]))).toBe(true);

    const some = keys.slice(0, 3).map((k) => k.keyId);
    expect((await bus.request(Subjects.svc.keysGet, undefined, { keyIds: some })).keys).toEqual(keys.slice(0, 3));

    await svc!.close();
    await start({ NCO_KEK: kek2, NCO_KEK_ID: 'k2', NCO_KEK_PREVIOUS: `k1:${kek1}` });
    expect(await bus.request(Subjects.cmd.keysRewrap, undefined, {})).toEqual({ rewrapped: 500, kekId: 'k2' });
    await svc!.close();
    await start({ NCO_KEK: kek2, NCO_KEK_ID: 'k2' }); // the old KEK is no longer needed
    expect((await bus.request(Subjects.svc.keysGet, undefined, { keyIds: some })).keys).toEqual(keys.slice(0, 3));
  });

  it('answers not_found for an unknown key id', async () => {
    await start({ NCO_KEK: kek1 });
    await expect(bus.request(Subjects.svc.keysGet, undefined, { keyIds: ['00000000-0000-4000-8000-000000000000'] })).rejects.toMatchObject({ code: 'not_found' });
  });
});
