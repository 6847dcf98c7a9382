import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CatalogModuleEntity } from '../entities';

export interface CatalogModuleInput {
  name: string;
  description: string;
  customizes: string;
  metadata: Record<string, unknown>;
  sourceSha256: string;
  files: Record<string, string>;
}

/** The module catalog: sources and metadata of every customization module the NCO can build. */
@Injectable()
export class CatalogRepository {
  constructor(private readonly ds: DataSource) {}

  /** Inserts or replaces a module; tells whether it was new and whether its sources changed. */
  async upsert(m: CatalogModuleInput): Promise<{ created: boolean; changed: boolean }> {
    const rows: Array<{ created: boolean; previous: string | null }> = await this.ds.query(
      `WITH prev AS (SELECT source_sha256 FROM catalog_modules WHERE name = $1)
       INSERT INTO catalog_modules AS c (name, description, customizes, metadata, source_sha256, files)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, customizes = EXCLUDED.customizes,
         metadata = EXCLUDED.metadata, source_sha256 = EXCLUDED.source_sha256, files = EXCLUDED.files,
         updated_at = CASE WHEN c.source_sha256 = EXCLUDED.source_sha256 AND c.metadata = EXCLUDED.metadata THEN c.updated_at ELSE now() END
       RETURNING (xmax = 0) AS created, (SELECT source_sha256 FROM prev) AS previous`,
      [m.name, m.description, m.customizes, JSON.stringify(m.metadata), m.sourceSha256, JSON.stringify(m.files)],
    );
    const r = rows[0];
    return { created: r.created, changed: r.created || r.previous !== m.sourceSha256 };
  }

  async list(): Promise<CatalogModuleEntity[]> {
    return this.ds.getRepository(CatalogModuleEntity).find({ order: { name: 'ASC' } });
  }

  async get(name: string): Promise<CatalogModuleEntity | null> {
    return this.ds.getRepository(CatalogModuleEntity).findOneBy({ name });
  }
}
