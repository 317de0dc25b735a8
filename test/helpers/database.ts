/**
 * A database of the test file's own: a clone of the run's seeded template on real Postgres, or a
 * seeded in-memory PGlite when Postgres is absent (or when a test asks for PGlite explicitly).
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { seed } from '../../src/db/seed.js';
import { withDatabase } from './services.js';
import { TEST_SEED } from './test-seed.js';

export async function openTestDatabase(kind: 'default' | 'pglite' = 'default'): Promise<Database> {
  const template = inject('pgTemplate');
  if (kind === 'pglite' || !template) {
    const database = await openDatabase({ pgliteDataDir: 'memory://' });
    await database.migrate();
    await seed(database.db, TEST_SEED);
    return database;
  }
  const name = `kitvault_test_${inject('runId')}_${randomBytes(4).toString('hex')}`;
  // Connect to the maintenance database: a connection to the template would block the clone.
  const admin = postgres(withDatabase(template, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await admin.unsafe(`create database "${name}" template "${new URL(template).pathname.slice(1)}"`);
        break;
      } catch (error) {
        // 55006: another worker is cloning the template right now; wait a little and try again.
        if ((error as { code?: string }).code !== '55006' || attempt > 100) throw error;
        await new Promise((r) => setTimeout(r, 50 + Math.random() * 150));
      }
    }
  } finally {
    await admin.end();
  }
  const database = await openDatabase({ url: withDatabase(template, name), maxConnections: 5 });
  return database;
}

export const usingRealPostgres = () => inject('pgTemplate') !== null;
