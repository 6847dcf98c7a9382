import { connectNats, ConnectSettings, deriveDeviceKeys, NatsBus } from '@nco/events';
import { join } from 'node:path';
import { Logger } from 'pino';
import { Agent, ReportReason } from '../agent/agent';
import { BackoffOptions } from '../agent/backoff';
import { CommandGuard } from '../security/command-guard';
import { SimulatedDriver } from '../driver/simulated.driver';
import { symversFromFile } from '../driver/symvers-file';
import { InverseKeeper } from '../middlebox/inverse-keeper';
import { DirInverseStore } from '../middlebox/inverse-store';
import { MemoryInverseStore } from '../middlebox/memory-inverse-store';
import { fleetMac } from './fleet-macs';
import { FleetRuntime } from './fleet.runtime';

export interface FleetOptions {
  /** A bus to share (the caller closes it) … */
  bus?: NatsBus;
  /** … or the settings of the fleet's own connection (closed by stop()). */
  nats?: ConnectSettings;
  /** Plain devices; middleboxes come on top. */
  size: number;
  release: string;
  /** Three octets; each device appends its index + 1. */
  macPrefix?: string;
  /** Extra devices that check in as middleboxes, by type: `{ wireshark: 1 }`. */
  middleboxes?: Record<string, number>;
  /** Keeps each device's kernel state in `<stateDir>/<mac without colons>.json` (a middlebox's inverse modules in `<mac>-inverse/`). */
  stateDir?: string;
  logger: Logger;
  checkinConcurrency?: number;
  tickMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** Module.symvers of the simulated cores (default: the recorded one of the core stub). */
  symversFile?: string;
  /** How often start() logs its progress while devices are still checking in. */
  progressEveryMs?: number;
  /** Command checks (signature, host, freshness, replay); without one the fleet accepts unsigned commands. */
  guard?: CommandGuard;
  /** Device identities derived from this secret and each MAC (stable across restarts, no key files); none when absent. */
  identitySeed?: Buffer;
  /** Bootstrap token every device proves at check-in (the NCO's NCO_ENROLL_TOKEN). */
  enrollToken?: string;
}

/**
 * Many simulated DCAs in one process over one NATS connection. Each device is a full Agent with
 * its own MAC, host id and SimulatedDriver; timers, command delivery and check-in concurrency are
 * shared through one FleetRuntime, so 10,000 devices cost no more timers or subscriptions than one.
 */
export class Fleet {
  readonly devices: Agent<SimulatedDriver>[] = [];
  private bus?: NatsBus;
  private runtime?: FleetRuntime;
  private starting?: Promise<void>;
  private progress?: NodeJS.Timeout;
  private readonly log: Logger;

  constructor(private readonly o: FleetOptions) {
    if (!o.bus && !o.nats) throw new Error('Fleet needs a bus or NATS settings');
    this.log = o.logger.child({ component: 'fleet' });
  }

  /** Resolves once every device has checked in (or the fleet was stopped first). */
  start(): Promise<void> {
    this.starting ??= this.boot();
    return this.starting;
  }

  get checkedIn(): number {
    return this.devices.filter((d) => d.state === 'running').length;
  }

  /** A device by its host id, running or stopped. */
  device(hostId: number): Agent<SimulatedDriver> | undefined {
    const running = this.runtime?.find(hostId) as Agent<SimulatedDriver> | undefined;
    return running ?? this.devices.find((d) => d.hostId === hostId);
  }

  /** Publishes a report now, from one device or from every running one. */
  async reportNow(hostId?: number, reason: ReportReason = 'change'): Promise<void> {
    const targets = hostId === undefined ? this.devices : [this.mustFind(hostId)];
    await Promise.all(targets.map((d) => d.report(reason)));
  }

  /** The device goes quiet: no reports, no answers, as if switched off. */
  async stopDevice(hostId: number): Promise<void> {
    await this.mustFind(hostId).stop();
  }

  /** Switches a stopped device on again: it checks in and reports as after a boot. */
  async startDevice(hostId: number): Promise<void> {
    await this.mustFind(hostId).start();
  }

  async stop(): Promise<void> {
    clearInterval(this.progress);
    await Promise.all(this.devices.map((d) => d.stop()));
    await this.runtime?.stop();
    if (this.o.nats && this.bus) await this.bus.close();
  }

  private async boot(): Promise<void> {
    const startedAt = Date.now();
    this.bus = this.o.bus ?? new NatsBus(await connectNats(this.o.nats as ConnectSettings, this.log), this.log);
    this.runtime = new FleetRuntime(this.bus, this.log, {
      checkinConcurrency: this.o.checkinConcurrency ?? 500,
      tickMs: this.o.tickMs ?? 50,
      guard: this.o.guard,
    });
    await this.createDevices();
    this.runtime.start();
    await this.bus.nc.flush(); // the command subscription is in place before anyone checks in
    this.progress = setInterval(() => this.logProgress(), this.o.progressEveryMs ?? 5_000);
    await Promise.all(this.devices.map((d) => d.start()));
    clearInterval(this.progress);
    this.log.debug({ devices: this.devices.length, ms: Date.now() - startedAt }, 'fleet started');
  }

  private async createDevices(): Promise<void> {
    const kinds: Array<string | undefined> = Array(this.o.size).fill(undefined);
    for (const [type, count] of Object.entries(this.o.middleboxes ?? {})) kinds.push(...Array<string>(count).fill(type));
    const prefix = this.o.macPrefix ?? '02:00:00';
    const symvers = symversFromFile(this.o.symversFile);
    for (let i = 0; i < kinds.length; i++) {
      const mac = fleetMac(prefix, i);
      const statePath = this.o.stateDir ? join(this.o.stateDir, `${mac.replace(/:/g, '')}.json`) : undefined;
      const driver = statePath ? await SimulatedDriver.open({ statePath, symvers }) : new SimulatedDriver({ symvers });
      this.devices.push(
        new Agent({
          bus: this.bus as NatsBus,
          driver,
          identity: { mac, release: this.o.release, middleboxType: kinds[i] },
          keys: this.o.identitySeed ? deriveDeviceKeys(this.o.identitySeed, mac) : undefined,
          enrollToken: this.o.enrollToken,
          // Middleboxes keep inverse modules in memory (tests can make writes fail), or in a folder beside the state.
          inverse: kinds[i] ? new InverseKeeper(this.o.stateDir ? new DirInverseStore(join(this.o.stateDir, `${mac.replace(/:/g, '')}-inverse`)) : new MemoryInverseStore()) : undefined,
          runtime: this.runtime as FleetRuntime,
          // Shared, not a child per device: every agent line already names its mac or host id.
          logger: this.o.logger,
          quiet: true,
          // Without an NCO, 10,000 devices retrying from 250 ms would keep a core busy for seconds.
          backoff: { initialMs: 1_000, ...this.o.backoff },
        }),
      );
    }
  }

  private logProgress(): void {
    const pending = this.devices.filter((d) => d.state === 'checking-in');
    if (pending.length === 0) return;
    const lastError = pending.find((d) => d.lastCheckinError)?.lastCheckinError;
    const hint = lastError?.startsWith('unavailable') ? 'no NCO answers check-ins yet (is the orchestrator running?); devices keep retrying' : undefined;
    this.log.warn({ checkedIn: this.devices.length - pending.length, pending: pending.length, lastError, hint }, 'waiting for devices to check in');
  }

  private mustFind(hostId: number): Agent<SimulatedDriver> {
    const d = this.device(hostId);
    if (!d) throw new Error(`no fleet device has host id ${hostId}`);
    return d;
  }
}
