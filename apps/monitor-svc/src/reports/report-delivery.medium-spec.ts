import { encode } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { register } from 'prom-client';
import { MonitorHarness } from '../testing/monitor-harness';

jest.setTimeout(60_000);

const installed = (ID: number, Count: number) => ({ Installed: [{ ID, Activated: 1, Count, ts: 1 }] });

/** Batching and delivery: one transaction per batch, failures redelivered, nothing lost on restart. */
describe('report delivery (monitor-svc, real Postgres and NATS)', () => {
  let h: MonitorHarness;
  let next = 0;
  const newHosts = (n: number) => Array.from({ length: n }, () => h.base + ++next);
  const noSweep = { LIVENESS_SWEEP_MS: '3600000' };

  /** Publishes one report per host as DCAs do (core NATS, flushed); returns the last issuedAt per host. */
  async function burst(hosts: number[], count: number): Promise<Date> {
    let issuedAt = new Date();
    for (const hostId of hosts) {
      const env = h.envelope(hostId, installed(1, count));
      issuedAt = new Date(env.issuedAt);
      h.nc.publish(`nco.dev.${hostId}.report`, encode(env));
    }
    await h.nc.flush();
    return issuedAt;
  }
  const countApplied = async (hosts: number[], count: number) =>
    Number((await h.sql(`SELECT count(*) AS n FROM deployments WHERE host_id = ANY($1::int[]) AND socket_count = $2`, [hosts, count]))[0].n);

  beforeAll(async () => {
    h = await MonitorHarness.create();
  });
  afterAll(() => h.close());
  afterEach(() => h.stopServices());

  it('applies a batch of 2,000 hosts in one transaction, including reports sent while the service was down', async () => {
    const hosts = newHosts(2000);
    await h.seedHosts(hosts, { online: false, lastSeenAgoMs: null });
    await h.sql(`INSERT INTO deployments (host_id, module_id, module_name, state, priority) SELECT id, 1, 'm', 'installed', 1 FROM unnest($1::int[]) id`, [hosts]);
    await h.start(noSweep); // creates the durable consumer
    await h.stopServices();
    await burst(hosts, 5);

    await h.start({ ...noSweep, REPORT_BATCH_SIZE: '5000', REPORT_BATCH_WAIT_MS: '1000' });
    await pollUntil(async () => (await countApplied(hosts, 5)) === hosts.length, 'all 2,000 reports applied', 20_000);
    // now() is the transaction's start time: one value means one transaction.
    const [row] = await h.sql(
      `SELECT count(DISTINCT last_report_at)::int AS transactions, count(*) FILTER (WHERE online)::int AS online FROM hosts WHERE host_id = ANY($1::int[])`,
      [hosts],
    );
    expect(row).toEqual({ transactions: 1, online: 2000 });
    await pollUntil(() => hosts.every((id) => h.liveness(id, 'nco.evt.host.online').length === 1), 'one host.online event per host');
  });

  it('isolates a report the database refuses: the others of its batch apply, it is redelivered and applies later', async () => {
    const hosts = newHosts(20);
    const [bad, ...good] = hosts;
    await h.seedHosts(hosts);
    await h.sql(`INSERT INTO deployments (host_id, module_id, module_name, state, priority) SELECT id, 1, 'm', 'installed', 1 FROM unnest($1::int[]) id`, [hosts]);
    await h.sql(`CREATE FUNCTION fail_report() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'injected failure for host %', NEW.host_id; END $$ LANGUAGE plpgsql`);
    await h.sql(`CREATE TRIGGER fail_report BEFORE UPDATE ON hosts FOR EACH ROW WHEN (NEW.host_id = ${bad}) EXECUTE FUNCTION fail_report()`);
    const failures = async () => ((await register.getSingleMetricAsString('nco_monitor_batch_failures_total')) ?? '');

    await h.start({ ...noSweep, REPORT_RETRY_DELAY_MS: '1000' });
    await h.stopServices();
    await burst(hosts, 8);
    await h.start({ ...noSweep, REPORT_RETRY_DELAY_MS: '1000', REPORT_BATCH_WAIT_MS: '500' });

    await pollUntil(async () => (await countApplied(good, 8)) === good.length, 'the good reports applied');
    expect(await countApplied([bad], 8)).toBe(0);
    expect((await h.sql(`SELECT last_report_issued_at FROM hosts WHERE host_id = $1`, [bad]))[0].last_report_issued_at).toBeNull();
    expect(await failures()).toMatch(/handling="split"/);
    expect(await failures()).toMatch(/handling="retried"/);

    await h.sql(`DROP TRIGGER fail_report ON hosts`);
    await pollUntil(async () => (await countApplied([bad], 8)) === 1, 'the refused report applied once redelivered', 10_000);
  });

  it('loses nothing when the service stops during a burst: in-flight batches finish, the rest is redelivered', async () => {
    const hosts = newHosts(3000);
    await h.seedHosts(hosts);
    await h.sql(`INSERT INTO deployments (host_id, module_id, module_name, state, priority) SELECT id, 1, 'm', 'installed', 1 FROM unnest($1::int[]) id`, [hosts]);
    await h.start({ ...noSweep, REPORT_BATCH_SIZE: '200' });
    const sent = burst(hosts, 3);
    await pollUntil(async () => (await countApplied(hosts, 3)) > 0, 'the first batch applied');
    await h.stopServices();
    await sent;
    const atStop = await countApplied(hosts, 3);

    await h.start(noSweep);
    await pollUntil(async () => (await countApplied(hosts, 3)) === hosts.length, 'every report applied after the restart', 20_000);
    expect(atStop).toBeGreaterThan(0);
  });
});
