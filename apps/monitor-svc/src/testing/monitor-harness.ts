import { randomBytes, randomInt } from 'node:crypto';
import { createTestDatabase, TestDatabase } from '@nco/cib/testing';
import { connectNats, encode, Envelope, KernelReport, makeEnvelope, silentLogger, Streams, Subjects } from '@nco/events';
import { pollUntil } from '@nco/events/testing';
import { createService, RunningService } from '@nco/runtime';
import { DeliverPolicy, NatsConnection } from 'nats';
import { monitor } from '../app';

export type Kernel = Partial<KernelReport>;

export interface ReportOptions {
  issuedAt?: Date;
  seq?: number;
  /** The envelope's hostId when it should differ from the subject's (null leaves it out). */
  envelopeHostId?: number | null;
}

export interface Sent {
  hostId: number;
  issuedAt: Date;
  /** Stream sequence of the stored message. */
  streamSeq: number;
}

/**
 * monitor-svc against a fresh CIB and the shared NATS server (NATS_URL). Each harness has its
 * own durable consumer and a random block of host ids, so test files running in parallel on one
 * server and one NCO_REPORTS stream never see each other's hosts.
 */
export class MonitorHarness {
  readonly consumer = `monitor-test-${randomBytes(4).toString('hex')}`;
  /** First host id of this harness; tests use base + n. */
  readonly base = 1_000_000 + randomInt(0, 1_000_000_000);
  readonly events: Array<{ subject: string; env: Envelope<any> }> = [];
  readonly services: RunningService[] = [];
  db!: TestDatabase;
  nc!: NatsConnection;
  private seq = 0;
  private clock = Date.now();

  static async create(): Promise<MonitorHarness> {
    const h = new MonitorHarness();
    h.db = await createTestDatabase();
    h.nc = await connectNats({ servers: process.env.NATS_URL || 'nats://127.0.0.1:4222', name: 'monitor-test', failFast: true }, silentLogger);
    h.nc.subscribe('nco.evt.>', {
      callback: (_err, msg) => {
        const env = JSON.parse(new TextDecoder().decode(msg.data)) as Envelope<{ hostId?: number }>;
        if (h.owns(env.body.hostId)) h.events.push({ subject: msg.subject, env });
      },
    });
    await h.nc.flush();
    return h;
  }

  owns(hostId: number | undefined): boolean {
    return hostId !== undefined && hostId >= this.base && hostId < this.base + 10_000_000;
  }

  async start(env: Record<string, string> = {}): Promise<RunningService> {
    const svc = await createService(monitor, {
      DATABASE_URL: this.db.url,
      NATS_URL: process.env.NATS_URL || 'nats://127.0.0.1:4222',
      HTTP_PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL || 'silent',
      REPORT_CONSUMER: this.consumer,
      REPORT_ACK_WAIT_MS: '2000',
      REPORT_RETRY_DELAY_MS: '200',
      ...env,
    });
    this.services.push(svc);
    return svc;
  }

  async stopServices(): Promise<void> {
    await Promise.all(this.services.splice(0).map((s) => s.close()));
  }

  async close(): Promise<void> {
    await this.stopServices();
    const jsm = await this.nc.jetstreamManager();
    await jsm.consumers.delete(Streams.reports.name, this.consumer).catch(() => undefined);
    await this.nc.drain();
    await this.db.drop();
  }

  sql<T = any>(query: string, params: unknown[] = []): Promise<T[]> {
    return this.db.ds.query(query, params);
  }

  /** Hosts with explicit ids; `lastSeenAgoMs` null leaves them never seen. */
  async seedHosts(hostIds: number[], opts: { online?: boolean; lastSeenAgoMs?: number | null } = {}): Promise<void> {
    await this.sql(
      `INSERT INTO hosts (host_id, mac, release, online, last_seen_at)
       SELECT id, regexp_replace(lpad(to_hex(id), 8, '0'), '(..)(..)(..)(..)', '02:00:\\1:\\2:\\3:\\4'), '6.1.0-27-amd64', $2,
              CASE WHEN $3::float8 IS NULL THEN NULL ELSE now() - make_interval(secs => $3::float8 / 1000) END
       FROM unnest($1::int[]) AS id`,
      [hostIds, opts.online ?? true, opts.lastSeenAgoMs === undefined ? 0 : opts.lastSeenAgoMs],
    );
  }

  async seedBuilt(hostId: number, moduleId: number, reqInstall = true): Promise<string> {
    const [row] = await this.sql<{ id: string }>(
      `INSERT INTO built_modules (host_id, module_id, module_name, priority, req_install) VALUES ($1, $2, $3, $2, $4) RETURNING id`,
      [hostId, moduleId, `mod${moduleId}`, reqInstall],
    );
    return row.id;
  }

  async seedDeployment(hostId: number, moduleId: number, state: string, builtId: string | null = null): Promise<void> {
    await this.sql(
      `INSERT INTO deployments (host_id, module_id, built_module_id, module_name, state, priority, installed_at)
       VALUES ($1, $2, $3, $4, $5, $2, CASE WHEN $5 IN ('installed','verified') THEN now() END)`,
      [hostId, moduleId, builtId, `mod${moduleId}`, state],
    );
  }

  async seedPendingInstall(hostId: number, moduleId: number): Promise<void> {
    await this.sql(`INSERT INTO pending_operations (host_id, module_id, kind, state) VALUES ($1, $2, 'install', 'sent')`, [hostId, moduleId]);
  }

  /** A report envelope as a DCA sends it; issuedAt moves forward on every call unless given. */
  envelope(hostId: number, kernel: Kernel = {}, opts: ReportOptions = {}) {
    const issuedAt = opts.issuedAt ?? new Date((this.clock += 1000));
    const body = { seq: opts.seq ?? ++this.seq, reason: 'interval' as const, kernel: { Installed: [], Deprecated: [], Revoked: [], ...kernel } };
    const envHost = opts.envelopeHostId === undefined ? hostId : (opts.envelopeHostId ?? undefined);
    return makeEnvelope(Subjects.device.report.type, body, { hostId: envHost, issuedAt });
  }

  async report(hostId: number, kernel: Kernel = {}, opts: ReportOptions = {}): Promise<Sent> {
    const env = this.envelope(hostId, kernel, opts);
    const streamSeq = await this.publishRaw(Subjects.device.report.subject({ hostId }), encode(env));
    return { hostId, issuedAt: new Date(env.issuedAt), streamSeq };
  }

  /** Publishes bytes as they are to a report subject; returns the stream sequence. */
  async publishRaw(subject: string, data: Uint8Array): Promise<number> {
    return (await this.nc.jetstream().publish(subject, data)).seq;
  }

  /** Waits until the CIB shows the report applied (its issuedAt is the host's latest). */
  async applied(sent: Sent, timeoutMs = 10_000): Promise<void> {
    await pollUntil(
      async () => {
        const [row] = await this.sql(`SELECT last_report_issued_at FROM hosts WHERE host_id = $1`, [sent.hostId]);
        return row?.last_report_issued_at && new Date(row.last_report_issued_at).getTime() >= sent.issuedAt.getTime();
      },
      `report of host ${sent.hostId} applied`,
      timeoutMs,
    );
  }

  /** Waits until the consumer has acked (or terminated) every message up to `streamSeq`. */
  async handled(streamSeq: number, timeoutMs = 10_000): Promise<void> {
    const jsm = await this.nc.jetstreamManager();
    await pollUntil(
      async () => (await jsm.consumers.info(Streams.reports.name, this.consumer)).ack_floor.stream_seq >= streamSeq,
      `stream message ${streamSeq} handled`,
      timeoutMs,
    );
    await this.nc.flush();
  }

  findings(hostId: number, kind?: string): Array<{ moduleId: number; kind: string; moduleName: string | null }> {
    return this.events
      .filter((e) => e.subject === Subjects.evt.finding.subject() && e.env.body.hostId === hostId && (!kind || e.env.body.kind === kind))
      .map((e) => ({ moduleId: e.env.body.moduleId, kind: e.env.body.kind, moduleName: e.env.body.moduleName }));
  }

  async finding(hostId: number, kind: string, moduleId: number): Promise<void> {
    await pollUntil(() => this.findings(hostId, kind).some((f) => f.moduleId === moduleId), `${kind} finding for ${hostId}/${moduleId}`);
  }

  liveness(hostId: number, subject: string): Envelope<any>[] {
    return this.events.filter((e) => e.subject === subject && e.env.body.hostId === hostId).map((e) => e.env);
  }

  /** Events of this harness's hosts stored in NCO_EVENTS since `since`, read back from the stream. */
  async storedEvents(subjectFilter: string, since: Date): Promise<Array<{ subject: string; env: Envelope<any> }>> {
    const consumer = await this.nc.jetstream().consumers.get(Streams.events.name, {
      filterSubjects: subjectFilter, // a string: nats-server 2.9 knows only one filter subject
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: since.toISOString(),
    });
    const out: Array<{ subject: string; env: Envelope<any> }> = [];
    for (let got = -1; got !== 0; ) {
      got = 0;
      for await (const m of await consumer.fetch({ max_messages: 1000, expires: 1000 })) {
        got++;
        const env = m.json<Envelope<{ hostId?: number }>>();
        if (this.owns(env.body.hostId)) out.push({ subject: m.subject, env });
      }
    }
    return out;
  }
}
