import { InverseHolding } from '@nco/events';
import { InverseRemoveOutcome, InverseStore, InverseWriteOutcome, sha256Hex } from './inverse-store';

/**
 * A fleet middlebox's inverse folder, in memory. Tests make it fail like a full or read-only
 * disk: `failWrites` / `failRemoves` set to an error text make every write / remove throw it.
 */
export class MemoryInverseStore implements InverseStore {
  readonly kind = 'memory' as const;
  failWrites?: string;
  failRemoves?: string;
  /** Writes and removals that reached the store (successful or not), for tests. */
  attempts = 0;
  private readonly files = new Map<string, Buffer>();

  async list(): Promise<InverseHolding[]> {
    return [...this.files.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([file, content]) => ({ file, sha256: sha256Hex(content), size: content.length }));
  }

  async write(file: string, content: Buffer): Promise<InverseWriteOutcome> {
    this.attempts++;
    if (this.failWrites) throw new Error(this.failWrites);
    if (this.files.get(file)?.equals(content)) return 'unchanged';
    this.files.set(file, Buffer.from(content));
    return 'installed';
  }

  async remove(file: string): Promise<InverseRemoveOutcome> {
    this.attempts++;
    if (this.failRemoves) throw new Error(this.failRemoves);
    return this.files.delete(file) ? 'removed' : 'absent';
  }

  /** The bytes of a held file (tests). */
  read(file: string): Buffer | undefined {
    return this.files.get(file);
  }
}
