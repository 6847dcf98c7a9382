import { createTestDatabase, TestDatabase } from '@nco/cib/testing';
import { connectNats, generateReportKey, generateSigningKey, GeneratedSigningKey, NatsBus, silentLogger } from '@nco/events';
import { NatsServerHandle, startNatsServer } from '@nco/events/testing';
import { createService, RunningService, ServiceDefinition } from '@nco/runtime';
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { z } from 'zod';
import { orchestrator } from '../../apps/orchestrator/src/app';
import { monitor } from '../../apps/monitor-svc/src/app';
import { constructService } from '../../apps/construct-svc/src/app';
import { deployService } from '../../apps/deploy-svc/src/app';
import { revokeService } from '../../apps/revoke-svc/src/app';
import { securityService } from '../../apps/security-svc/src/app';
import { Fleet, FleetOptions } from '../../apps/dca/src/fleet/fleet';
import { SignedCommandGuard } from '../../apps/dca/src/security/command-guard';

export const ALL_SERVICES: Array<ServiceDefinition<z.ZodObject>> = [
  orchestrator,
  constructService,
  deployService,
  revokeService,
  monitor,
  securityService,
] as unknown as Array<ServiceDefinition<z.ZodObject>>;

export interface SystemOptions {
  reportIntervalMs?: number;
  offlineAfterMs?: number;
  env?: Record<string, string>;
  /** Services sign device commands and fleets check them (default true); false runs both unsigned. */
  signing?: boolean;
  /** NATS JWT auth (docs/security.md): the server's auth block, creds for the services (and `bus`) and for fleets. */
  natsAuth?: { config: string; servicesCreds: string; fleetCreds: string };
}

/**
 * The whole NCO in one test process: a private nats-server (so tests can restart it), a fresh
 * CIB, the six services started as they are in production (createService), and fleets of
 * simulated DCAs on demand.
 */
export class TestSystem {
  db!: TestDatabase;
  nats!: NatsServerHandle;
  bus!: NatsBus;
  services: RunningService[] = [];
  fleets: Fleet[] = [];
  readonly env: Record<string, string>;
  /** The NCO command-signing key of this system (fleets trust its public half). */
  readonly signingKey?: GeneratedSigningKey;
  /** The NCO report key (NCO_REPORT_KEY): devices with an identity MAC their reports under a key derived from it. */
  readonly reportKey?: { kid: string; privateSpec: string };
  /** Bootstrap token of this system's orchestrator; fleets prove it unless a test says otherwise. */
  readonly enrollToken = randomBytes(18).toString('base64url');

  constructor(private readonly o: SystemOptions = {}) {
    this.env = {};
    if (o.signing !== false) {
      this.signingKey = generateSigningKey('test-1');
      this.reportKey = generateReportKey('test-r1');
    }
  }

  async start(services = ALL_SERVICES): Promise<this> {
    [this.db, this.nats] = await Promise.all([createTestDatabase(), startNatsServer({ config: this.o.natsAuth?.config })]);
    const interval = this.o.reportIntervalMs ?? 300;
    Object.assign(this.env, {
      DATABASE_URL: this.db.url,
      NATS_URL: this.nats.url,
      REDIS_URL: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
      // Parallel test systems share one Redis: each gets its own build queue.
      QUEUE_PREFIX: `nco-test-${randomBytes(4).toString('hex')}`,
      HTTP_PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL || 'silent',
      REPORT_INTERVAL_MS: String(interval),
      OFFLINE_AFTER_MS: String(this.o.offlineAfterMs ?? interval * 4),
      LIVENESS_SWEEP_MS: String(Math.max(100, Math.floor(interval / 2))),
      NCO_KEK: randomBytes(32).toString('base64'),
      ...(this.signingKey ? { NCO_SIGNING_KEY: this.signingKey.privateSpec } : {}),
      ...(this.reportKey ? { NCO_REPORT_KEY: this.reportKey.privateSpec } : {}),
      NCO_ENROLL_TOKEN: this.enrollToken,
      ...(this.o.natsAuth ? { NATS_CREDS_FILE: this.o.natsAuth.servicesCreds } : {}),
      ...this.o.env,
    });
    for (const def of services) this.services.push(await createService(def, this.env));
    // Reconnects like a service would, so tests can restart the server under it.
    this.bus = new NatsBus(await connectNats({ servers: this.nats.url, name: 'e2e', credsFile: this.o.natsAuth?.servicesCreds }, silentLogger), silentLogger);
    return this;
  }

  async fleet(
    size: number,
    opts: { middleboxes?: Record<string, number>; release?: string; macPrefix?: string } & Pick<FleetOptions, 'guard' | 'identitySeed' | 'enrollToken' | 'backoff'> = {},
  ): Promise<Fleet> {
    const fleet = new Fleet({
      nats: { servers: this.nats.url, name: `fleet-${this.fleets.length}`, credsFile: this.o.natsAuth?.fleetCreds },
      size,
      release: opts.release ?? '6.1.0-56-amd64',
      macPrefix: opts.macPrefix ?? `02:${(this.fleets.length + 16).toString(16)}:00`,
      middleboxes: opts.middleboxes,
      guard: opts.guard ?? this.guard(),
      // Enrolled at first check-in with the system's bootstrap token.
      identitySeed: opts.identitySeed ?? randomBytes(32),
      enrollToken: 'enrollToken' in opts ? opts.enrollToken : this.enrollToken,
      backoff: opts.backoff,
      logger: pino({ level: process.env.TEST_LOG_LEVEL || 'silent' }),
    });
    this.fleets.push(fleet);
    await fleet.start();
    return fleet;
  }

  /** A device-side command check trusting this system's signing key (undefined when signing is off). */
  guard(trustedKeys = this.signingKey?.publicSpec): SignedCommandGuard | undefined {
    return trustedKeys ? new SignedCommandGuard({ trustedKeys, windowMs: 60_000, replayCacheSize: 100_000 }) : undefined;
  }

  query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.db.ds.query(sql, params);
  }

  async stop(): Promise<void> {
    await Promise.allSettled(this.fleets.map((f) => f.stop()));
    await this.bus?.close();
    await Promise.allSettled(this.services.map((s) => s.close()));
    await Promise.allSettled([this.db?.drop(), this.nats?.close()]);
  }
}
