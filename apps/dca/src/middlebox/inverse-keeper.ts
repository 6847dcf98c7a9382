import { BusLogger, InverseHolding, InverseInstallCommand, InverseRemoveCommand, InverseResult, NcoError } from '@nco/events';
import { InverseStore, sha256Hex } from './inverse-store';

/**
 * The middlebox side of inverse modules: checks an install (canonical base64, size, sha256)
 * before anything is written, runs writes and removals one at a time, and says what it holds
 * for the report. A failed write is an `unavailable` error (the NCO retries); a bad command is
 * `invalid_request` and changes nothing.
 */
export class InverseKeeper {
  private queue: Promise<unknown> = Promise.resolve();

  /** `log`: a DCA logs each write and removal; a fleet of thousands leaves it out. */
  constructor(
    readonly store: InverseStore,
    private readonly log?: BusLogger,
  ) {}

  holdings(): Promise<InverseHolding[]> {
    return this.store.list();
  }

  install(cmd: InverseInstallCommand): Promise<InverseResult> {
    const content = Buffer.from(cmd.contentBase64, 'base64');
    if (content.toString('base64') !== cmd.contentBase64) throw new NcoError('invalid_request', 'contentBase64 is not valid base64');
    if (content.length !== cmd.size) throw new NcoError('invalid_request', `${cmd.file} is ${content.length} bytes, the command says ${cmd.size}`);
    const sha256 = sha256Hex(content);
    if (sha256 !== cmd.sha256) throw new NcoError('invalid_request', `${cmd.file} has sha256 ${sha256}, the command says ${cmd.sha256}`);
    return this.serial(async () => {
      let outcome;
      try {
        outcome = await this.store.write(cmd.file, content);
      } catch (e) {
        this.log?.error({ module: cmd.module, file: cmd.file, err: (e as Error).message }, 'inverse module not written');
        throw new NcoError('unavailable', `cannot write ${cmd.file}: ${(e as Error).message}`);
      }
      this.log?.info({ module: cmd.module, file: cmd.file, sha256, outcome }, outcome === 'installed' ? 'inverse module written' : 'inverse module already held');
      return { file: cmd.file, outcome };
    });
  }

  remove(cmd: InverseRemoveCommand): Promise<InverseResult> {
    return this.serial(async () => {
      let outcome;
      try {
        outcome = await this.store.remove(cmd.file);
      } catch (e) {
        this.log?.error({ module: cmd.module, file: cmd.file, err: (e as Error).message }, 'inverse module not removed');
        throw new NcoError('unavailable', `cannot remove ${cmd.file}: ${(e as Error).message}`);
      }
      this.log?.info({ module: cmd.module, file: cmd.file, outcome }, outcome === 'removed' ? 'inverse module removed' : 'inverse module already absent');
      return { file: cmd.file, outcome };
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
