import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A JSON file written atomically (temp file + rename), so a crash mid-write leaves the previous
 * state, never half of one. Writes are serialised and coalesced: a burst of changes costs at most
 * one write in flight plus one for the latest value, and each caller resolves once its value or a
 * newer one is on disk.
 */
export class StateFile {
  private latest?: string;
  private written?: string;
  private loop?: Promise<void>;

  constructor(readonly path: string) {}

  async read(): Promise<unknown | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    this.written = text;
    return JSON.parse(text);
  }

  write(value: unknown): Promise<void> {
    this.latest = JSON.stringify(value);
    this.loop ??= this.drain();
    return this.loop;
  }

  private async drain(): Promise<void> {
    await null; // lets write() store this promise before the loop can finish
    try {
      while (this.latest !== undefined && this.latest !== this.written) {
        const text = this.latest;
        const tmp = `${this.path}.${process.pid}.tmp`;
        await mkdir(dirname(this.path), { recursive: true });
        // 0600: the simulated core's state holds the module keys.
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, this.path);
        this.written = text;
      }
    } finally {
      // Cleared in the same tick as the last check, so a later write() always starts a new loop.
      this.loop = undefined;
    }
  }
}
