import { DataSource, DataSourceOptions } from 'typeorm';
import { CIB_ENTITIES } from './entities';
import { CIB_MIGRATIONS } from './migrations';

export interface CibConnectionSettings {
  url: string;
  poolSize?: number;
  applicationName?: string;
}

export function cibDataSourceOptions(s: CibConnectionSettings): DataSourceOptions {
  return {
    type: 'postgres',
    url: s.url,
    entities: CIB_ENTITIES,
    migrations: CIB_MIGRATIONS,
    migrationsTableName: 'cib_migrations',
    synchronize: false,
    logging: false,
    applicationName: s.applicationName ?? 'nco',
    extra: { max: s.poolSize ?? 10, idleTimeoutMillis: 30_000 },
  };
}

export function createCibDataSource(s: CibConnectionSettings): DataSource {
  return new DataSource(cibDataSourceOptions(s));
}

/** An arbitrary constant: the advisory lock that serialises migrations across replicas. */
const MIGRATION_LOCK = 4_504_504;

/**
 * Runs pending migrations under a session advisory lock, so several replicas starting at
 * once apply each migration exactly once (the others wait, then find nothing to do).
 */
export async function migrateCib(ds: DataSource): Promise<string[]> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await ds.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}
