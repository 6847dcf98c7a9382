import { createHash } from 'node:crypto';
import { NatsConnection, ObjectStore, StorageType } from 'nats';

export const ARTIFACT_BUCKET = 'nco-artifacts';

export interface StoredArtifact {
  ref: string;
  sha256: string;
  size: number;
}

/**
 * Build artifacts in the JetStream object store (chunked, so a module larger than a NATS
 * message still travels). Compiled templates are few (one per kernel flavor), so their
 * put/get cost does not grow with the fleet; readers cache them.
 */
export class ArtifactStore {
  private os?: Promise<ObjectStore>;
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly nc: NatsConnection) {}

  private bucket(): Promise<ObjectStore> {
    this.os ??= this.nc.jetstream().views.os(ARTIFACT_BUCKET, { storage: StorageType.File, description: 'NCO module artifacts' });
    return this.os;
  }

  async put(name: string, data: Buffer): Promise<StoredArtifact> {
    await (await this.bucket()).putBlob({ name }, data);
    return { ref: `os:${name}`, sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
  }

  /** Reads an artifact by ref and checks its sha256; cached, since templates are read per host. */
  async get(ref: string, sha256?: string): Promise<Buffer> {
    const hit = this.cache.get(ref);
    if (hit) return hit;
    if (!ref.startsWith('os:')) throw new Error(`unknown artifact ref ${ref}`);
    const blob = await (await this.bucket()).getBlob(ref.slice(3));
    if (!blob) throw new Error(`artifact ${ref} is missing from the object store`);
    const buf = Buffer.from(blob);
    if (sha256 && createHash('sha256').update(buf).digest('hex') !== sha256) throw new Error(`artifact ${ref} does not match its sha256`);
    if (this.cache.size > 256) this.cache.clear();
    this.cache.set(ref, buf);
    return buf;
  }
}
