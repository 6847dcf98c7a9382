import 'reflect-metadata';
import { DatabaseSettings, loadConfig } from '@nco/runtime';
import { createCibDataSource, migrateCib } from '../data-source';

/** `npm run migrate [up|down|status]`: applies, reverts the last, or lists CIB migrations. */
async function main(): Promise<void> {
  const action = process.argv[2] ?? 'up';
  if (!['up', 'down', 'status'].includes(action)) {
    process.stderr.write(`usage: migrate [up|down|status] (got ${action})\n`);
    process.exit(2);
  }
  const config = loadConfig(DatabaseSettings);
  const ds = createCibDataSource({ url: config.DATABASE_URL, applicationName: 'nco-migrate' });
  await ds.initialize();
  try {
    if (action === 'up') {
      const applied = await migrateCib(ds);
      process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'nothing to apply\n');
    } else if (action === 'down') {
      await ds.undoLastMigration({ transaction: 'each' });
      process.stdout.write('reverted the last migration\n');
    } else {
      const pending = await ds.showMigrations();
      const rows: Array<{ name: string }> = await ds.query(`SELECT name FROM cib_migrations ORDER BY id`).catch(() => []);
      process.stdout.write(`applied: ${rows.map((r) => r.name).join(', ') || 'none'}\npending: ${pending ? 'yes' : 'no'}\n`);
    }
  } finally {
    await ds.destroy();
  }
}

main().catch((e) => {
  process.stderr.write(`migrate: ${(e as Error).message}\n`);
  process.exit(1);
});
