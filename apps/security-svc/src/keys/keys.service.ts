import { Inject, Injectable } from '@nestjs/common';
import { KeyRepository } from '@nco/cib';
import { NcoError } from '@nco/events';
import { ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { randomBytes, randomUUID } from 'node:crypto';
import { Logger } from 'pino';
import { SecurityConfig } from '../settings';
import { Kek, parseKeks, unwrapKey, wrapKey } from './kek';

export interface IssuedKey {
  keyId: string;
  key: Buffer;
}

/**
 * Module keys: a fresh 32-byte CSPRNG key per built module, stored only wrapped under the KEK,
 * handed only to other services (never to operators, never logged), re-wrapped on KEK rotation.
 */
@Injectable()
export class KeysService {
  private readonly current: Kek;
  private readonly keks: Map<string, Kek>;
  private readonly log: Logger;

  constructor(
    private readonly keys: KeyRepository,
    @Inject(SERVICE_CONFIG) config: SecurityConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    const { current, all } = parseKeks(config.NCO_KEK_ID, config.NCO_KEK, config.NCO_KEK_PREVIOUS);
    this.current = current;
    this.keks = all;
    this.log = root.child({ component: 'keys' });
  }

  async issue(count: number): Promise<IssuedKey[]> {
    const material = randomBytes(32 * count);
    const issued = Array.from({ length: count }, (_, i) => ({ keyId: randomUUID(), key: material.subarray(i * 32, i * 32 + 32) }));
    await this.keys.insert(issued.map((k) => ({ id: k.keyId, kekId: this.current.id, wrapped: wrapKey(this.current, k.keyId, k.key) })));
    this.log.debug({ count }, 'issued module keys');
    return issued;
  }

  async get(keyIds: string[]): Promise<IssuedKey[]> {
    const rows = await this.keys.get(keyIds);
    // Answer in the order asked: callers zip keys with their hosts.
    if (rows.length !== new Set(keyIds).size) {
      const found = new Set(rows.map((r) => r.id));
      throw new NcoError('not_found', `unknown key ids: ${keyIds.filter((id) => !found.has(id)).slice(0, 5).join(', ')}`);
    }
    const byId = new Map(rows.map((r) => [r.id, r]));
    return keyIds.map((id) => {
      const r = byId.get(id)!;
      const kek = this.keks.get(r.kekId);
      if (!kek) throw new NcoError('unavailable', `key ${r.id} is wrapped with KEK ${r.kekId}, which is not configured (NCO_KEK_PREVIOUS)`);
      return { keyId: r.id, key: unwrapKey(kek, r.id, r.wrapped) };
    });
  }

  /** Re-wraps every key not yet under the current KEK, a page at a time; returns how many. */
  async rewrapAll(pageSize = 1000): Promise<number> {
    let total = 0;
    for (;;) {
      const page = await this.keys.notWrappedWith(this.current.id, pageSize);
      if (!page.length) break;
      const rewrapped = page.map((r) => {
        const kek = this.keks.get(r.kekId);
        if (!kek) throw new NcoError('unavailable', `key ${r.id} is wrapped with KEK ${r.kekId}, which is not configured (NCO_KEK_PREVIOUS)`);
        return { id: r.id, kekId: this.current.id, wrapped: wrapKey(this.current, r.id, unwrapKey(kek, r.id, r.wrapped)) };
      });
      await this.keys.rewrap(rewrapped);
      total += rewrapped.length;
    }
    this.log.info({ rewrapped: total, kekId: this.current.id }, 'module keys re-wrapped under the current KEK');
    return total;
  }

  get kekId(): string {
    return this.current.id;
  }
}
