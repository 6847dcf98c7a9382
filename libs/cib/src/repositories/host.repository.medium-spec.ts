import { createTestDatabase, TestDatabase } from '../testing';
import { HostRepository } from './host.repository';

/** HostRepository.list against a real CIB: filters and paging by host id. */
describe('HostRepository.list', () => {
  let db: TestDatabase;
  let repo: HostRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    repo = new HostRepository(db.ds);
    await db.ds.query(
      `INSERT INTO hosts (host_id, mac, release, online, labels)
       SELECT i, '02:00:00:00:00:' || lpad(to_hex(i), 2, '0'), '6.1.0', i % 2 = 0, CASE WHEN i <= 3 THEN '{"rack":"a1"}'::jsonb ELSE '{}'::jsonb END
       FROM generate_series(1, 7) i`,
    );
  });
  afterAll(() => db.drop());

  it('pages by host id: each page continues after the last one, total counts every match', async () => {
    const first = await repo.list({ limit: 3 });
    expect(first.hosts.map((h) => h.hostId)).toEqual([1, 2, 3]);
    expect(first.total).toBe(7);
    const second = await repo.list({ limit: 3, afterHostId: 3 });
    expect(second.hosts.map((h) => h.hostId)).toEqual([4, 5, 6]);
    expect(second.total).toBe(7);
    expect((await repo.list({ limit: 3, afterHostId: 6 })).hosts.map((h) => h.hostId)).toEqual([7]);
  });

  it('pages within a filter', async () => {
    const online = await repo.list({ online: true, limit: 2, afterHostId: 2 });
    expect(online.hosts.map((h) => h.hostId)).toEqual([4, 6]);
    expect(online.total).toBe(3);
    const rack = await repo.list({ labels: { rack: 'a1' }, limit: 10, afterHostId: 1 });
    expect(rack.hosts.map((h) => h.hostId)).toEqual([2, 3]);
    expect(rack.total).toBe(3);
  });
});
