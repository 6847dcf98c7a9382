import {
  BodyOf,
  BusLogger,
  ChallengeCommand,
  CheckinBody,
  CheckinReply,
  isNcoError,
  KernelResult,
  NatsBus,
  ReplyOf,
  ReportBody,
  Subjects,
} from '@nco/events';
import { deriveReportMacKey, DeviceKeys, enrollmentProof, EnvelopeSignHook, macDeviceReport, signDeviceEnvelope } from '@nco/events';
import { createHash } from 'node:crypto';
import { setTimeout as sleepFor } from 'node:timers/promises';
import { ChallengeAnswer, CommandResult, Driver, DriverError } from '../driver/driver';
import { AgentRuntime } from './agent-runtime';
import { backoffDelay, BackoffOptions, DEFAULT_BACKOFF } from './backoff';
import { openInstallArtifact } from '../security/artifact-open';
import { checkInstall } from './install-check';
import type { InverseKeeper } from '../middlebox/inverse-keeper';

export const AGENT_VERSION = '0.1.0';

export interface AgentIdentity {
  mac: string;
  release: string;
  ip?: string;
  middleboxType?: string;
}

/** The slice of NatsBus an agent uses, so unit tests can hand in a mock. */
export type AgentBus = Pick<NatsBus, 'request' | 'publish'>;

export type ReportReason = ReportBody['reason'];
export type SymversAnswer = ReplyOf<typeof Subjects.device.symvers>;
export type AgentState = 'idle' | 'checking-in' | 'running' | 'stopped';
export type InstallCommandBody = BodyOf<typeof Subjects.device.install>;
export type ToggleCommandBody = BodyOf<typeof Subjects.device.toggle>;
export type PriorityCommandBody = BodyOf<typeof Subjects.device.priority>;
export type ModuleCommandBody = BodyOf<typeof Subjects.device.revoke>;

export interface AgentOptions<D extends Driver = Driver> {
  bus: AgentBus;
  driver: D;
  identity: AgentIdentity;
  /** Middlebox mode: where inverse modules are kept (apps/dca/src/middlebox). */
  inverse?: InverseKeeper;
  runtime: AgentRuntime;
  logger: BusLogger;
  /** The device's identity keys (docs/security.md): check-ins, reports and answers are signed with them. */
  keys?: DeviceKeys;
  /** Bootstrap token: proven (never sent) at check-in so the NCO approves this device at once. */
  enrollToken?: string;
  /**
   * Connected with the shared bootstrap NATS creds: the check-in asks for this device's own NATS
   * JWT and hands it here instead of starting (the process then reconnects as the device).
   */
  onNatsJwt?: (jwt: string) => Promise<void>;
  backoff?: Partial<BackoffOptions>;
  /** Log failed check-in attempts at debug level (a fleet logs one summary instead of thousands). */
  quiet?: boolean;
  random?: () => number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<unknown>;
}

/** Refusals: the NCO answered and said no, so hammering it again soon will not help. */
const SLOW_RETRY = new Set(['invalid_message', 'invalid_request', 'conflict']);

const abortableSleep = (ms: number, signal: AbortSignal) => sleepFor(ms, undefined, { signal });

/**
 * One device's agent: checks in until the NCO answers, then reports the kernel state (at check-in,
 * every interval, and on request) with a rising `seq`, and checks in again after a NATS reconnect
 * because the NCO may have been reset. Timers and subscriptions belong to the runtime.
 */
export class Agent<D extends Driver = Driver> {
  readonly driver: D;
  hostId?: number;
  reportIntervalMs?: number;
  state: AgentState = 'idle';
  /** Successful check-ins of this run. */
  checkins = 0;
  lastCheckinError?: string;
  private seq = 0;
  private abort?: AbortController;
  private started?: Promise<void>;
  private recheck?: Promise<void>;
  private readonly backoff: BackoffOptions;
  private readonly signHook?: EnvelopeSignHook;
  /** Reports are MAC'ed under a key shared with the NCO once it handed one out (docs/security.md, "Reports"). */
  private reportSign?: EnvelopeSignHook;
  /** Lifecycle commands run one at a time per device, in arrival order. */
  private lifecycle: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: AgentOptions<D>) {
    this.driver = o.driver;
    const keys = o.keys;
    this.signHook = keys ? (env, subject) => void signDeviceEnvelope(env, subject, keys) : undefined;
    this.backoff = { ...DEFAULT_BACKOFF, ...o.backoff };
  }

  get mac(): string {
    return this.o.identity.mac;
  }

  get identity(): Readonly<AgentIdentity> {
    return this.o.identity;
  }

  /** Signs what this device sends with its identity key (undefined: the device has none). */
  get sign(): EnvelopeSignHook | undefined {
    return this.signHook;
  }

  get inverse(): InverseKeeper | undefined {
    return this.o.inverse;
  }

  /** Checks in (retrying until it works or stop() is called), publishes the check-in report, starts reporting. */
  start(): Promise<void> {
    if (this.state === 'checking-in' || this.state === 'running') return this.started ?? Promise.resolve();
    const abort = (this.abort = new AbortController());
    this.state = 'checking-in';
    this.started = this.checkin(abort.signal).then(async (reply) => {
      if (!reply || abort.signal.aborted) return;
      if (this.o.onNatsJwt) {
        if (reply.natsJwt) return this.o.onNatsJwt(reply.natsJwt);
        this.o.logger.warn({ mac: this.mac }, 'asked the NCO for NATS creds and got none (NATS_AUTH_DIR not set?): the bootstrap user cannot publish reports');
      }
      this.accept(reply);
      this.state = 'running';
      this.o.runtime.attach(this);
      await this.report('checkin');
    });
    return this.started;
  }

  /** After a reconnect: the NCO may have lost us, so check in again while reporting goes on. */
  checkInAgain(): Promise<void> {
    if (this.state !== 'running' || !this.abort) return Promise.resolve();
    if (this.recheck) return this.recheck;
    const signal = this.abort.signal;
    const p = this.checkin(signal)
      .then(async (reply) => {
        if (!reply || signal.aborted) return;
        const previous = this.hostId;
        this.accept(reply);
        this.o.runtime.attach(this, previous);
        await this.report('checkin');
      })
      .finally(() => {
        if (this.recheck === p) this.recheck = undefined;
      });
    this.recheck = p;
    return p;
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') return;
    this.abort?.abort();
    this.recheck = undefined;
    this.state = 'stopped';
    this.o.runtime.detach(this);
  }

  /** Publishes the current kernel report; a failure is logged and the next interval tries again. */
  async report(reason: ReportReason): Promise<ReportBody | undefined> {
    const hostId = this.hostId;
    if (hostId === undefined || this.state !== 'running') return undefined;
    let body: ReportBody;
    try {
      body = await this.buildReport(reason);
    } catch (e) {
      this.o.logger.error({ hostId, reason, err: (e as Error).message }, 'driver could not produce a report');
      return undefined;
    }
    return this.publish(hostId, body) ? body : undefined;
  }

  /** The answer to the NCO's report request; also published, so the report stream has it. */
  async answerReportRequest(): Promise<ReportBody> {
    const body = await this.buildReport('request');
    if (this.hostId !== undefined) this.publish(this.hostId, body);
    return body;
  }

  /** The core's Module.symvers, for the kernel release this agent checked in with. */
  async answerSymvers(): Promise<SymversAnswer> {
    const content = await this.driver.symvers();
    const sha256 = createHash('sha256').update(content).digest('hex');
    return { release: this.o.identity.release, sha256, contentBase64: content.toString('base64') };
  }

  /**
   * install: the artifact is checked (base64, size, sha256, a stamped NCO block for this module
   * id, scalar parameters) before the driver loads it; a repeat of an installed artifact answers
   * Result 1 without reloading. A refusal throws (the NCO gets the reason); success publishes a
   * `change` report at once.
   */
  async install(cmd: InstallCommandBody): Promise<KernelResult> {
    const { artifact, info, params } = checkInstall(cmd, openInstallArtifact(cmd, this.hostId, this.o.keys));
    return this.serial(async () => {
      const outcome = await this.driver.install(artifact, { moduleId: cmd.moduleId, params });
      // Never the key: the sha256 names the artifact well enough.
      this.log({ hostId: this.hostId, moduleId: cmd.moduleId, sha256: info.sha256, outcome }, outcome === 'installed' ? 'module installed' : 'module already installed');
      await this.report('change');
      return { ID: cmd.moduleId, Result: 1 };
    });
  }

  /** revoke: unload and delete (Result 1 also when the module is already revoked or not there at all), then report. */
  async revoke(cmd: ModuleCommandBody): Promise<KernelResult> {
    return this.serial(async () => {
      const outcome = await this.driver.remove(cmd.moduleId);
      const what = { removed: 'module revoked', 'already-revoked': 'module already revoked', absent: 'module not on this device: nothing to revoke' }[outcome];
      this.log({ hostId: this.hostId, moduleId: cmd.moduleId, outcome }, what);
      await this.report('change');
      return { ID: cmd.moduleId, Result: 1 };
    });
  }

  toggle(cmd: ToggleCommandBody): Promise<KernelResult> {
    return this.relay('toggle', cmd.moduleId, () => this.driver.toggle(cmd.moduleId, cmd.mode));
  }

  setPriority(cmd: PriorityCommandBody): Promise<KernelResult> {
    return this.relay('priority', cmd.moduleId, () => this.driver.setPriority(cmd.moduleId, cmd.priority));
  }

  deprecate(cmd: ModuleCommandBody): Promise<KernelResult> {
    return this.relay('deprecate', cmd.moduleId, () => this.driver.deprecate(cmd.moduleId));
  }

  /** A security challenge for one module, answered by the core with the module's key. */
  async answerChallenge(moduleId: number, iv: Buffer, msg: Buffer): Promise<ChallengeAnswer> {
    if (!this.driver.challenge) throw new DriverError(`the ${this.driver.kind} driver cannot answer challenges`, 'unavailable');
    return this.driver.challenge(moduleId, iv, msg);
  }

  /** The `challenge` command: hex on the wire, bytes to the core; a wrong size is the core's refusal to answer. */
  challenge(cmd: ChallengeCommand): Promise<ChallengeAnswer> {
    return this.answerChallenge(cmd.id, Buffer.from(cmd.iv, 'hex'), Buffer.from(cmd.msg, 'hex'));
  }

  /** The core's answer as it is (Result 0 = refused); a change report follows a success. */
  private relay(verb: string, moduleId: number, run: () => Promise<CommandResult>): Promise<KernelResult> {
    return this.serial(async () => {
      const r = await run();
      if (r.ID !== moduleId) throw new DriverError(`the core answered ${verb} for module ${r.ID}, not ${moduleId}`, 'unavailable');
      this.log({ hostId: this.hostId, moduleId, verb, result: r.Result }, r.Result === 1 ? `${verb} done` : `${verb} refused by the core`);
      if (r.Result === 1) await this.report('change');
      return { ID: moduleId, Result: r.Result };
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lifecycle.then(fn);
    this.lifecycle = run.catch(() => undefined);
    return run;
  }

  private log(fields: Record<string, unknown>, msg: string): void {
    this.o.logger[this.o.quiet ? 'debug' : 'info'](fields, msg);
  }

  private async buildReport(reason: ReportReason): Promise<ReportBody> {
    const kernel = await this.driver.report();
    const inverse = await this.o.inverse?.holdings();
    // seq is taken after the driver answered, right before publishing, so it rises in publish order.
    return inverse ? { seq: this.seq++, reason, kernel, inverse } : { seq: this.seq++, reason, kernel };
  }

  private publish(hostId: number, body: ReportBody): boolean {
    try {
      this.o.bus.publish(Subjects.device.report, { hostId }, body, { hostId, sign: this.reportSign ?? this.sign });
      return true;
    } catch (e) {
      this.o.logger.warn({ hostId, seq: body.seq, err: (e as Error).message }, 'report not published; the next one retries');
      return false;
    }
  }

  private checkinBody(): CheckinBody {
    const { mac, release, ip, middleboxType } = this.o.identity;
    const body: CheckinBody = { mac, release, agent: { version: AGENT_VERSION, driver: this.driver.kind } };
    if (ip) body.ip = ip;
    if (middleboxType) body.middleboxType = middleboxType;
    const keys = this.o.keys;
    if (keys) {
      body.identity = { signKey: keys.signPublic, encKey: keys.encPublic };
      if (this.o.enrollToken) body.identity.enrollProof = enrollmentProof(this.o.enrollToken, keys.signPublic);
      if (this.o.onNatsJwt) body.natsCreds = true;
    }
    return body;
  }

  /** Asks until the NCO answers; resolves undefined when stopped first. */
  private async checkin(signal: AbortSignal): Promise<CheckinReply | undefined> {
    const body = this.checkinBody();
    const log = this.o.logger;
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const reply = await this.o.runtime.limit(() => this.o.bus.request(Subjects.device.checkin, undefined, body, { sign: this.sign }));
        this.lastCheckinError = undefined;
        return signal.aborted ? undefined : reply;
      } catch (e) {
        if (signal.aborted) return undefined;
        const code = isNcoError(e) ? e.code : 'internal';
        const slow = SLOW_RETRY.has(code);
        const retryInMs = backoffDelay(attempt, slow, this.backoff, this.o.random);
        this.lastCheckinError = `${code}: ${(e as Error).message}`;
        const level = this.o.quiet ? 'debug' : slow ? 'error' : 'warn';
        log[level]({ mac: body.mac, attempt: attempt + 1, code, err: (e as Error).message, retryInMs }, slow ? 'check-in refused by the NCO, retrying slowly' : 'check-in failed, retrying');
        try {
          await (this.o.sleep ?? abortableSleep)(retryInMs, signal);
        } catch {
          return undefined; // aborted by stop()
        }
      }
    }
    return undefined;
  }

  /** K = HKDF(X25519(our enc key, the NCO report key), host id); a key that does not parse leaves reports signed. */
  private reportMacHook(reply: CheckinReply): EnvelopeSignHook | undefined {
    const keys = this.o.keys;
    if (!keys || !reply.reportKey) return undefined;
    const { kid, key } = reply.reportKey;
    try {
      const mac = deriveReportMacKey(keys.enc, key, reply.hostId);
      return (env, subject) => void macDeviceReport(env, subject, kid, mac);
    } catch (e) {
      this.o.logger.warn({ mac: this.mac, kid, err: (e as Error).message }, 'the NCO report key does not parse: reports stay signed');
      return undefined;
    }
  }

  private accept(reply: CheckinReply): void {
    const previous = this.hostId;
    this.hostId = reply.hostId;
    this.reportIntervalMs = reply.reportIntervalMs;
    this.reportSign = this.reportMacHook(reply);
    this.checkins++;
    const fields = { mac: this.mac, hostId: reply.hostId, isNew: reply.isNew, reportIntervalMs: reply.reportIntervalMs };
    if (previous !== undefined && previous !== reply.hostId) this.o.logger.warn({ ...fields, previousHostId: previous }, 'host id changed at check-in');
    else this.o.logger[this.o.quiet ? 'debug' : 'info'](fields, 'checked in');
  }
}
