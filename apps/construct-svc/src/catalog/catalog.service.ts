import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { CatalogModuleEntity, CatalogRepository } from '@nco/cib';
import { CatalogEntry, ModuleMetadata, NcoError } from '@nco/events';
import { ROOT_LOGGER, SERVICE_CONFIG } from '@nco/runtime';
import { existsSync } from 'node:fs';
import { Logger } from 'pino';
import { ConstructConfig } from '../settings';
import { catalogDirs, InvalidModuleError, ModuleSource, readModuleDir, validateModuleSource } from './catalog-source';

/** The module catalog: loaded from the repository's modules folder at start, extended by operators. */
@Injectable()
export class CatalogService implements OnModuleInit {
  private readonly log: Logger;

  constructor(
    private readonly catalog: CatalogRepository,
    @Inject(SERVICE_CONFIG) private readonly config: ConstructConfig,
    @Inject(ROOT_LOGGER) root: Logger,
  ) {
    this.log = root.child({ component: 'catalog' });
  }

  async onModuleInit(): Promise<void> {
    const root = this.config.CATALOG_DIR;
    if (!root || !existsSync(root)) return;
    for (const dir of catalogDirs(root)) {
      try {
        const result = await this.store(readModuleDir(dir));
        if (result.changed) this.log.info({ module: result.name, dir }, 'catalog module loaded');
      } catch (e) {
        this.log.error({ dir, err: (e as Error).message }, 'catalog module refused');
      }
    }
  }

  /** Adds or replaces a module sent by an operator (files base64-encoded). */
  async add(metadata: unknown, files: Array<{ path: string; contentBase64: string }>) {
    const map = new Map(files.map((f) => [f.path, Buffer.from(f.contentBase64, 'base64')]));
    if (map.size !== files.length) throw new NcoError('invalid_request', 'a file path appears twice');
    try {
      return await this.store(validateModuleSource(metadata, map));
    } catch (e) {
      if (e instanceof InvalidModuleError) throw new NcoError('invalid_request', e.message);
      throw e;
    }
  }

  async list(): Promise<CatalogEntry[]> {
    return (await this.catalog.list()).map(toEntry);
  }

  /** A module with its files, for building; a clear error when it is not in the catalog. */
  async require(name: string): Promise<{ entity: CatalogModuleEntity; metadata: ModuleMetadata; files: Map<string, Buffer> }> {
    const entity = await this.catalog.get(name);
    if (!entity) throw new NcoError('not_found', `module ${name} is not in the catalog (see nco catalog)`);
    const files = new Map(Object.entries(entity.files).map(([p, b64]) => [p, Buffer.from(b64, 'base64')]));
    return { entity, metadata: entity.metadata as ModuleMetadata, files };
  }

  private async store(src: ModuleSource) {
    const m = src.metadata;
    const result = await this.catalog.upsert({
      name: m.name,
      description: m.description,
      customizes: m.customizes,
      metadata: m,
      sourceSha256: src.sourceSha256,
      files: Object.fromEntries([...src.files].map(([p, c]) => [p, c.toString('base64')])),
    });
    return { name: m.name, sourceSha256: src.sourceSha256, ...result };
  }
}

function toEntry(e: CatalogModuleEntity): CatalogEntry {
  const m = e.metadata as ModuleMetadata;
  return {
    name: e.name,
    description: e.description,
    customizes: e.customizes,
    sourceSha256: e.sourceSha256,
    defaultActiveMode: m.defaultActiveMode,
    defaultPriority: m.defaultPriority,
    params: m.params,
    inverse: m.inverse,
    files: Object.keys(e.files).sort(),
    updatedAt: e.updatedAt.toISOString(),
  };
}
