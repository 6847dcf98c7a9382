import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createCibDataSource, migrateCib } from '../data-source';

export interface TestDatabase {
  url: string;
  ds: DataSource;
  /** Empties every CIB table (keeps the schema). */
  truncate(): Promise<void>;
  drop(): Promise<void>;
}

const serverUrl = () => process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh, migrated database per test file, so test files can run in parallel. */
export async function createTestDatabase(prefix = 'nco_t'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl() });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl());
  u.pathname = `/${name}`;
  const url = u.toString();
  const ds = createCibDataSource({ url, poolSize: 5, applicationName: 'nco-test' });
  await ds.initialize();
  await migrateCib(ds);
  return {
    url,
    ds,
    async truncate() {
      const tables: Array<{ tablename: string }> = await ds.query(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'cib_migrations'`,
      );
      await ds.query(`TRUNCATE ${tables.map((t) => `"${t.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`);
      await ds.query(`ALTER SEQUENCE host_id_seq RESTART WITH 1`);
    },
    async drop() {
      if (ds.isInitialized) await ds.destroy();
      const c = new Client({ connectionString: serverUrl() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}
