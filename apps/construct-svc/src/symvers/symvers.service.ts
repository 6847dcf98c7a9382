import { Inject, Injectable } from '@nestjs/common';
import { SymversRepository } from '@nco/cib';
import { NcoError, Subjects } from '@nco/events';
import { NatsService, ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { createHash } from 'node:crypto';
import { Logger } from 'pino';
import { ConstructConfig } from '../settings';

export interface HostFlavorInput {
  hostId: number;
  release: string;
  symversSha256: string;
}

export interface SymversResult {
  ready: HostFlavorInput[];
  /** Hosts whose device could not give its symvers now (offline, refused): their builds wait. */
  unavailable: Array<{ hostId: number; reason: string }>;
}

/**
 * A host's Module.symvers must be known, for its current kernel release, before a build: the
 * CIB copy is used when it matches, otherwise the host's DCA is asked (many at once) and the
 * answer stored. A device that does not answer leaves its build pending, not failed.
 */
@Injectable()
export class SymversService {
  private readonly log: Logger;

  constructor(
    private readonly symvers: SymversRepository,
    private readonly nats: NatsService,
    @Inject(SERVICE_CONFIG) private readonly config: ConstructConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'symvers' });
  }

  async ensure(hostIds: number[]): Promise<SymversResult> {
    const state = await this.symvers.stateOf(hostIds);
    const ready: HostFlavorInput[] = [];
    const toFetch = [];
    for (const s of state) {
      if (s.symversSha256) ready.push({ hostId: s.hostId, release: s.release, symversSha256: s.symversSha256 });
      else toFetch.push(s);
    }
    const unavailable: SymversResult['unavailable'] = [];
    const fetched: Array<{ hostId: number; release: string; sha256: string; content: Buffer }> = [];
    await mapLimit(toFetch, this.config.SYMVERS_CONCURRENCY, async (s) => {
      try {
        const reply = await this.nats.bus.request(Subjects.device.symvers, { hostId: s.hostId }, {}, { hostId: s.hostId });
        const content = Buffer.from(reply.contentBase64, 'base64');
        const sha256 = createHash('sha256').update(content).digest('hex');
        if (sha256 !== reply.sha256) throw new NcoError('invalid_message', 'symvers content does not match its sha256');
        if (reply.release !== s.release) throw new NcoError('invalid_message', `device runs ${reply.release}, the CIB says ${s.release}: it must check in again`);
        fetched.push({ hostId: s.hostId, release: reply.release, sha256, content });
      } catch (e) {
        const reason = e instanceof NcoError ? `${e.code}: ${e.message}` : (e as Error).message;
        this.log.warn({ hostId: s.hostId, reason }, 'symvers not available, build waits');
        unavailable.push({ hostId: s.hostId, reason });
      }
    });
    await this.symvers.store(fetched);
    if (fetched.length) this.log.info({ hosts: fetched.length }, 'collected symvers from devices');
    for (const f of fetched) ready.push({ hostId: f.hostId, release: f.release, symversSha256: f.sha256 });
    return { ready, unavailable };
  }

  content(sha256: string): Promise<Buffer | null> {
    return this.symvers.contentBySha(sha256);
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
