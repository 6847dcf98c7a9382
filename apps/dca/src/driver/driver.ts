import type { KernelReport } from '@nco/events';

export type { KernelReport };

/** Module parameters the NCO sets at build or stamp time (activate, priority, applyNow, …). */
export type ModuleParams = Record<string, string | number | boolean>;

export interface InstallOptions {
  moduleId: number;
  params: ModuleParams;
}

/** The kernel core's answer to toggle / priority / deprecate: Result 0 means the core refused. */
export interface CommandResult {
  ID: number;
  Result: 0 | 1;
}

export type DriverKind = 'simulated' | 'linux';

/**
 * What the agent needs from a device's Layer 4.5 core, for the whole module lifecycle. A refusal
 * by the core is a `Result: 0` answer; a failure of the operation itself (bad artifact, module not
 * loaded, I/O) throws a DriverError carrying the error text that goes back to the NCO.
 */
export interface Driver {
  readonly kind: DriverKind;
  report(): Promise<KernelReport>;
  /** The core's Module.symvers: the symbols every customization links against (construct asks). */
  symvers(): Promise<Buffer>;
  /** Writes and loads a module (insmod). */
  install(artifact: Buffer, opts: InstallOptions): Promise<void>;
  /** Unloads a module and deletes its file (rmmod), as revoke asks. */
  remove(moduleId: number): Promise<void>;
  toggle(moduleId: number, mode: 0 | 1): Promise<CommandResult>;
  setPriority(moduleId: number, priority: number): Promise<CommandResult>;
  /** No new socket picks the module up; sockets already using it keep it. */
  deprecate(moduleId: number): Promise<CommandResult>;
}

export class DriverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DriverError';
  }
}
