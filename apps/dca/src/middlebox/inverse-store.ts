import { InverseFileName, InverseHolding } from '@nco/events';
import { createHash, randomBytes } from 'node:crypto';
import * as fsPromises from 'node:fs/promises';
import { join } from 'node:path';

/** `installed`: written now; `unchanged`: the same bytes were already there. */
export type InverseWriteOutcome = 'installed' | 'unchanged';
/** `removed`: deleted now; `absent`: there was no such file. */
export type InverseRemoveOutcome = 'removed' | 'absent';

/** Where a middlebox keeps its inverse modules: files side by side, by name. */
export interface InverseStore {
  readonly kind: 'dir' | 'memory';
  list(): Promise<InverseHolding[]>;
  write(file: string, content: Buffer): Promise<InverseWriteOutcome>;
  remove(file: string): Promise<InverseRemoveOutcome>;
}

export const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export type FileOps = Pick<typeof fsPromises, 'mkdir' | 'readdir' | 'readFile' | 'rename' | 'stat' | 'unlink' | 'writeFile'>;
const isInverseName = (name: string): boolean => InverseFileName.safeParse(name).success;

/**
 * Inverse modules as files in one directory (DCA_INVERSE_DIR), the way the middlebox's tool reads
 * them (a Wireshark plugin folder). A write goes to a hidden temp file that is renamed over the
 * target, so the tool never sees half a file; a remove deletes the file. Only names an inverse
 * module can have are listed (temp files and anything else in the folder are not ours).
 */
export class DirInverseStore implements InverseStore {
  readonly kind = 'dir' as const;
  /** sha256 per file, kept while size and mtime stay the same (reports come every few seconds). */
  private readonly hashes = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

  /** `fs`: the file operations (tests hand in failing ones). */
  constructor(
    readonly dir: string,
    private readonly fs: FileOps = fsPromises,
  ) {}

  async list(): Promise<InverseHolding[]> {
    let names: string[];
    try {
      names = await this.fs.readdir(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    const out: InverseHolding[] = [];
    for (const file of names.filter(isInverseName).sort()) {
      const path = join(this.dir, file);
      try {
        const s = await this.fs.stat(path);
        if (!s.isFile()) continue;
        let known = this.hashes.get(file);
        if (!known || known.size !== s.size || known.mtimeMs !== s.mtimeMs) {
          known = { size: s.size, mtimeMs: s.mtimeMs, sha256: sha256Hex(await this.fs.readFile(path)) };
          this.hashes.set(file, known);
        }
        out.push({ file, sha256: known.sha256, size: known.size });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // deleted while listing
      }
    }
    return out;
  }

  async write(file: string, content: Buffer): Promise<InverseWriteOutcome> {
    const path = join(this.dir, file);
    const current = await this.fs.readFile(path).catch(() => undefined);
    if (current && current.equals(content)) return 'unchanged';
    await this.fs.mkdir(this.dir, { recursive: true });
    const tmp = join(this.dir, `.${file}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      // Readable by the middlebox's tool (a dissector is not a secret).
      await this.fs.writeFile(tmp, content, { mode: 0o644 });
      await this.fs.rename(tmp, path);
    } catch (e) {
      await this.fs.unlink(tmp).catch(() => undefined);
      throw e;
    }
    return 'installed';
  }

  async remove(file: string): Promise<InverseRemoveOutcome> {
    try {
      await this.fs.unlink(join(this.dir, file));
      this.hashes.delete(file);
      return 'removed';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'absent';
      throw e;
    }
  }
}
