import { createHash } from 'node:crypto';
import { createTestDatabase, TestDatabase } from '../testing';
import { MiddleboxRepository } from './middlebox.repository';

const LUA = Buffer.from('-- dissector v1\n');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** MiddleboxRepository against a real CIB: desired state, claims, settles, report holdings, link/unlink. */
describe('MiddleboxRepository', () => {
  let db: TestDatabase;
  let repo: MiddleboxRepository;
  const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> => db.ds.query(sql, params);

  beforeAll(async () => {
    db = await createTestDatabase();
    repo = new MiddleboxRepository(db.ds);
  });
  afterAll(() => db.drop());
  beforeEach(async () => {
    await db.truncate();
    // The catalog declares a wireshark inverse for dns-tag (as construct-svc stores module.json).
    await q(
      `INSERT INTO catalog_modules (name, description, customizes, metadata, source_sha256, files)
       VALUES ('dns-tag', 'd', 'c', $1, 'src1', $2), ('port-match', 'p', 'c', '{"inverse":{}}', 'src2', '{}')`,
      [JSON.stringify({ inverse: { wireshark: 'inverse/wireshark/l45_dns_tag.lua' } }), JSON.stringify({ 'inverse/wireshark/l45_dns_tag.lua': LUA.toString('base64'), 'dns_tag.c': 'eA==' })],
    );
  });

  async function host(id: number, type?: string, online = true): Promise<void> {
    await q(`INSERT INTO hosts (host_id, mac, release, online, middlebox_type) VALUES ($1, '02:00:00:00:00:' || lpad(to_hex($1::int), 2, '0'), '6.1.0', $2, $3)`, [id, online, type ?? null]);
    if (type) await q(`INSERT INTO middleboxes (host_id, type) VALUES ($1, $2)`, [id, type]);
  }
  async function deployed(hostId: number, moduleId: number, module = 'dns-tag', state = 'installed'): Promise<void> {
    await q(`INSERT INTO deployments (host_id, module_id, module_name, state, priority) VALUES ($1, $2, $3, $4, $2)`, [hostId, moduleId, module, state]);
  }
  const records = () =>
    q<{ host: number; state: string; installed_sha256: string | null; required_at: Date | null; installed_at: Date | null; removed_at: Date | null; last_error: string | null; gave_up: boolean }>(
      `SELECT middlebox_host_id AS host, state, installed_sha256, required_at, installed_at, removed_at, last_error, gave_up_at IS NOT NULL AS gave_up
       FROM inverse_deployments ORDER BY middlebox_host_id`,
    );
  const open = () =>
    q<{ host_id: number; kind: string; state: string; attempts: number }>(
      `SELECT host_id, kind, state, attempts FROM pending_operations WHERE kind LIKE 'inverse%' AND state IN ('pending','sent') ORDER BY host_id, kind`,
    );
  /** Claims everything due and answers it as the middleboxes would. */
  async function carryAll(): Promise<void> {
    const rows = await repo.claimDue(100);
    await repo.settle(rows.map((r) => ({ pendingId: r.pendingId, sha256: r.sha256 ?? undefined })), [], 3);
  }

  it('syncs the catalog declaration and requires it only on middleboxes of that type while the module is deployed', async () => {
    await host(1);
    await host(2);
    await host(10, 'wireshark');
    await host(11, 'wireshark');
    await host(20, 'ids');
    expect(await repo.reconcile()).toMatchObject({ synced: 1, required: 0, queued: 0 });
    expect(await q(`SELECT module_name, middlebox_type, file_name, sha256, size, source FROM inverse_modules`)).toEqual([
      { module_name: 'dns-tag', middlebox_type: 'wireshark', file_name: 'l45_dns_tag.lua', sha256: sha(LUA), size: LUA.length, source: 'catalog' },
    ]);

    await deployed(1, 5, 'dns-tag', 'pending'); // in flight counts: the middlebox must understand it from the first packet
    expect(await repo.reconcile()).toMatchObject({ synced: 0, required: 2, queued: 2 });
    expect((await records()).map((r) => [r.host, r.state])).toEqual([[10, 'required'], [11, 'required']]);
    expect(await open()).toEqual([
      { host_id: 10, kind: 'inverse_install', state: 'pending', attempts: 0 },
      { host_id: 11, kind: 'inverse_install', state: 'pending', attempts: 0 },
    ]);
    // Idempotent: the same desired state queues nothing twice.
    expect(await repo.reconcile()).toEqual({ synced: 0, required: 0, removing: 0, queued: 0, superseded: 0 });
  });

  it('claims only online middleboxes, records installed with its sha256 and time, and delivers once', async () => {
    await host(1);
    await host(10, 'wireshark');
    await host(11, 'wireshark', false);
    await deployed(1, 5);
    await repo.reconcile();
    const claimed = await repo.claimDue(100);
    expect(claimed).toEqual([
      expect.objectContaining({ hostId: 10, kind: 'inverse_install', attempts: 1, module: 'dns-tag', file: 'l45_dns_tag.lua', sha256: sha(LUA), content: LUA }),
    ]);
    expect(await repo.claimDue(100)).toEqual([]); // claimed rows are not handed out again
    expect(await repo.settle([{ pendingId: claimed[0].pendingId, sha256: sha(LUA) }], [], 3)).toEqual({ done: 1, retried: 0, gaveUp: 0 });
    const [r10, r11] = await records();
    expect(r10).toMatchObject({ host: 10, state: 'installed', installed_sha256: sha(LUA), last_error: null });
    expect(r10.installed_at).toBeInstanceOf(Date);
    expect(r11).toMatchObject({ host: 11, state: 'required' });
    expect(await repo.reconcile()).toMatchObject({ required: 0, queued: 0 });
    // The offline one comes back: woken and claimed.
    await q(`UPDATE hosts SET online = true WHERE host_id = 11`);
    await carryAll();
    expect((await records()).map((r) => r.state)).toEqual(['installed', 'installed']);
  });

  it('a late middlebox catches up; the last revoked deployment removes the file, another host keeps it', async () => {
    await host(1);
    await host(2);
    await host(10, 'wireshark');
    await deployed(1, 5);
    await deployed(2, 7);
    await repo.reconcile();
    await carryAll();
    await host(12, 'wireshark');
    expect(await repo.reconcile()).toMatchObject({ required: 1, queued: 1 });
    await carryAll();
    expect((await records()).map((r) => [r.host, r.state])).toEqual([[10, 'installed'], [12, 'installed']]);

    await q(`DELETE FROM deployments WHERE host_id = 1`);
    expect(await repo.reconcile()).toMatchObject({ removing: 0, queued: 0 });
    await q(`UPDATE deployments SET state = 'failed' WHERE host_id = 2`); // a failed deployment needs nothing either
    expect(await repo.reconcile()).toMatchObject({ removing: 2, queued: 2 });
    expect((await open()).map((o) => o.kind)).toEqual(['inverse_remove', 'inverse_remove']);
    const removals = await repo.claimDue(100);
    expect(removals.map((r) => [r.kind, r.file, r.content])).toEqual([['inverse_remove', 'l45_dns_tag.lua', null], ['inverse_remove', 'l45_dns_tag.lua', null]]);
    await repo.settle(removals.map((r) => ({ pendingId: r.pendingId })), [], 3);
    const after = await records();
    expect(after.map((r) => r.state)).toEqual(['removed', 'removed']);
    expect(after[0].removed_at).toBeInstanceOf(Date);
    expect(after[0].installed_at).toBeInstanceOf(Date); // history kept

    // Deployed again: required again, and a pending removal of the same file would have been superseded.
    await deployed(2, 9);
    expect(await repo.reconcile()).toMatchObject({ required: 2, queued: 2 });
  });

  it('closes an open install when the file is no longer wanted before it was sent', async () => {
    await host(1);
    await host(10, 'wireshark', false);
    await deployed(1, 5);
    await repo.reconcile();
    await q(`DELETE FROM deployments`);
    expect(await repo.reconcile()).toMatchObject({ removing: 1, superseded: 1, queued: 1 });
    expect(await open()).toEqual([{ host_id: 10, kind: 'inverse_remove', state: 'pending', attempts: 0 }]);
  });

  it('retries a failed write with backoff, gives up after the last attempt, and tries again at the next check-in', async () => {
    await host(1);
    await host(10, 'wireshark');
    await deployed(1, 5);
    await repo.reconcile();
    let [row] = await repo.claimDue(100);
    expect(await repo.settle([], [{ pendingId: row.pendingId, error: 'unavailable: cannot write l45_dns_tag.lua: disk full', retryInMs: 60_000 }], 2)).toEqual({ done: 0, retried: 1, gaveUp: 0 });
    expect(await repo.claimDue(100)).toEqual([]); // backing off
    expect((await records())[0]).toMatchObject({ state: 'required', last_error: 'unavailable: cannot write l45_dns_tag.lua: disk full', gave_up: false });
    expect(await repo.wakeHosts([10])).toBe(1);
    [row] = await repo.claimDue(100);
    expect(row.attempts).toBe(2);
    expect(await repo.settle([], [{ pendingId: row.pendingId, error: 'unavailable: disk full', retryInMs: 10 }], 2)).toEqual({ done: 0, retried: 0, gaveUp: 1 });
    expect((await records())[0]).toMatchObject({ state: 'required', gave_up: true, last_error: expect.stringMatching(/^gave up after 2 attempts/) });
    expect(await repo.reconcile()).toMatchObject({ queued: 0 }); // no retry storm
    // The middlebox checks in (its check-in report): given-up work is queued again.
    const now = new Date();
    expect(await repo.applyHoldings([{ hostId: 10, issuedAt: now, checkin: true, files: [] }])).toMatchObject({ woke: 1 });
    expect(await repo.reconcile()).toMatchObject({ queued: 1 });
    await carryAll();
    expect((await records())[0]).toMatchObject({ state: 'installed', gave_up: false, last_error: null });
  });

  it('reconciles what middleboxes report holding, ignoring reports older than the last change', async () => {
    await host(1);
    await host(10, 'wireshark');
    await host(11, 'wireshark');
    await deployed(1, 5);
    await repo.reconcile();
    await carryAll();
    const before = new Date(Date.now() - 60_000);
    const held = { file: 'l45_dns_tag.lua', sha256: sha(LUA) };
    // An old report (before the install) says nothing.
    expect(await repo.applyHoldings([{ hostId: 10, issuedAt: before, checkin: false, files: [] }])).toMatchObject({ needWork: 0 });
    // A fresh one without the file: required again (someone deleted it), and queued by the next reconcile.
    const later = new Date(Date.now() + 1_000);
    expect(await repo.applyHoldings([
      { hostId: 10, issuedAt: later, checkin: false, files: [] },
      { hostId: 11, issuedAt: later, checkin: false, files: [held] },
    ])).toMatchObject({ needWork: 1 });
    expect((await records()).map((r) => [r.host, r.state, r.last_error])).toEqual([
      [10, 'required', 'the middlebox reported it missing or changed'],
      [11, 'installed', null],
    ]);
    expect(await repo.reconcile()).toMatchObject({ queued: 1 });
    // The answer was lost but the report shows the file: installed, the pending row closed.
    const at = new Date(Date.now() + 2_000);
    expect(await repo.applyHoldings([{ hostId: 10, issuedAt: at, checkin: false, files: [held] }])).toMatchObject({ confirmed: 1 });
    expect(await open()).toEqual([]);
    // Not needed any more; the report no longer lists it → removed without a command answer.
    await q(`DELETE FROM deployments`);
    await repo.reconcile();
    const gone = new Date(Date.now() + 3_000);
    expect(await repo.applyHoldings([{ hostId: 10, issuedAt: gone, checkin: false, files: [] }])).toMatchObject({ confirmed: 1 });
    expect((await records()).map((r) => [r.host, r.state])).toEqual([[10, 'removed'], [11, 'removing']]);
    // A removed file that shows up again is removed again.
    expect(await repo.applyHoldings([{ hostId: 10, issuedAt: new Date(Date.now() + 4_000), checkin: false, files: [held] }])).toMatchObject({ needWork: 1 });
  });

  it('links and unlinks: validated, nothing written on error, a changed file required again where installed', async () => {
    await host(1);
    await host(20, 'ids');
    await deployed(1, 5);
    const rules = Buffer.from('alert tcp any any -> any 53 (msg:"l45"; sid:1;)\n');
    const link = (module: string, file: string, content = rules) => repo.link({ module, type: 'ids', file, content, sha256: sha(content) });

    expect(await link('no-such', 'x.rules')).toEqual({ ok: false, code: 'not_found', message: 'module no-such is not in the catalog (see nco catalog)' });
    expect(await q(`SELECT count(*)::int AS n FROM inverse_modules`)).toEqual([{ n: 0 }]);
    expect(await link('dns-tag', 'l45.rules')).toEqual({ ok: true, created: true, changed: true });
    expect(await link('dns-tag', 'l45.rules')).toEqual({ ok: true, created: false, changed: false });
    expect(await link('port-match', 'l45.rules')).toMatchObject({ ok: false, code: 'conflict' });

    await repo.reconcile(); // also syncs the catalog's wireshark inverse; ids box gets the linked file
    await carryAll();
    expect((await records()).map((r) => [r.host, r.state])).toEqual([[20, 'installed']]);
    const v2 = Buffer.from('alert tcp any any -> any 53 (msg:"l45 v2"; sid:2;)\n');
    expect(await link('dns-tag', 'l45.rules', v2)).toEqual({ ok: true, created: false, changed: true });
    expect(await link('dns-tag', 'renamed.rules', v2)).toMatchObject({ ok: false, code: 'conflict', message: expect.stringMatching(/hold this inverse module as l45.rules/) });
    expect(await repo.reconcile()).toMatchObject({ required: 1, queued: 1 });
    const [row] = await repo.claimDue(10);
    expect(row.content).toEqual(v2);

    expect(await repo.unlink('port-match', 'ids')).toEqual({ found: false, removing: 0 });
    expect(await repo.unlink('dns-tag', 'ids')).toEqual({ found: true, removing: 1 });
    await repo.settle([{ pendingId: row.pendingId, sha256: row.sha256! }], [], 3);
    expect(await repo.reconcile()).toMatchObject({ removing: 1, queued: 1 });
    expect(await repo.listInverseModules()).toEqual([expect.objectContaining({ module: 'dns-tag', type: 'wireshark', source: 'catalog', required: true })]);

    const [box] = await repo.listMiddleboxes('ids');
    expect(box).toMatchObject({ hostId: 20, type: 'ids', online: true, inverse: [expect.objectContaining({ module: 'dns-tag', file: 'l45.rules', state: 'removing', sha256: sha(v2) })] });
  });
});
