import type { KernelReport } from '@nco/events';

export type { KernelReport };

/** Module parameters (module_param values) passed at load time: simple scalars only (see module-params.ts). */
export type ModuleParams = Record<string, string | number | boolean>;

export interface InstallOptions {
  /** The module id the NCO's command names; the artifact's NCO block must carry the same id. */
  moduleId: number;
  params: ModuleParams;
}

/** The kernel core's answer to toggle / priority / deprecate: Result 0 means the core refused. */
export interface CommandResult {
  ID: number;
  Result: 0 | 1;
}

/** `installed`: the module was loaded now; `unchanged`: the same artifact (id and sha256) was already loaded. */
export type InstallOutcome = 'installed' | 'unchanged';

/**
 * `removed`: unloaded and deleted now; `already-revoked`: the core already lists it as revoked;
 * `absent`: the core has no such module at all (e.g. lost with a device's state): nothing to do.
 */
export type RemoveOutcome = 'removed' | 'already-revoked' | 'absent';

/** A module's answer to a security challenge, as the core sends it: hex strings. */
export interface ChallengeAnswer {
  IV: string;
  Response: string;
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
  /**
   * Writes and loads a module (insmod). Module id, key, active mode, priority and applyNow come
   * from the artifact's NCO block; `opts.moduleId` must match it. A repeat of an artifact that is
   * already loaded (same id and sha256) is `unchanged`; another module under a loaded id, or a
   * priority another loaded module holds, is refused with a DriverError.
   */
  install(artifact: Buffer, opts: InstallOptions): Promise<InstallOutcome>;
  /** Unloads a module and deletes its file (rmmod), as revoke asks; the core lists it as Revoked. */
  remove(moduleId: number): Promise<RemoveOutcome>;
  toggle(moduleId: number, mode: 0 | 1): Promise<CommandResult>;
  setPriority(moduleId: number, priority: number): Promise<CommandResult>;
  /** No new socket picks the module up; sockets already using it keep it. */
  deprecate(moduleId: number): Promise<CommandResult>;
  /**
   * Answers a security challenge with the module's key (README: "Security challenge"): `msg` is
   * AES-256-CBC(key, iv, 8 random bytes); the answer encrypts those 8 bytes followed by the
   * module id in ASCII decimal under a fresh IV.
   */
  challenge?(moduleId: number, iv: Buffer, msg: Buffer): Promise<ChallengeAnswer>;
  /** Releases what the driver holds (the Linux driver's netlink helper). */
  close?(): Promise<void>;
}

/**
 * How a DriverError travels to the NCO (as an NcoError code): `invalid_request` for a bad
 * artifact or argument, `conflict` when the core's state refuses it (id or priority taken),
 * `not_found` for a module this device does not have, `unavailable` when the core or a tool
 * could not be reached.
 */
export type DriverErrorCode = 'invalid_request' | 'conflict' | 'not_found' | 'unavailable';

export class DriverError extends Error {
  constructor(
    message: string,
    readonly code: DriverErrorCode = 'invalid_request',
  ) {
    super(message);
    this.name = 'DriverError';
  }
}
