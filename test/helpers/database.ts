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

/** A test file's database; `url` is its postgres:// address (null on PGlite). */
export type TestDatabase = Database & { url: string | null };

export async function openTestDatabase(kind: 'default' | 'pglite' = 'default'): Promise<TestDatabase> {
  const template = inject('pgTemplate');
  if (kind === 'pglite' || !template) {
    const database = await openDatabase({ pgliteDataDir: 'memory://' });
    await database.migrate();
    await seed(database.db, TEST_SEED);
    return Object.assign(database, { url: null });
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
  const url = withDatabase(template, name);
  const database = await openDatabase({ url, maxConnections: 5 });
  return Object.assign(database, { url });
}

/** The same database's URL, reached through `port` on 127.0.0.1 (a fault-staging TCP proxy). */
export function throughPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

/** Host and port of a postgres:// URL (what a TCP proxy forwards to). */
export function addressOf(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 5432) };
}

export const usingRealPostgres = () => inject('pgTemplate') !== null;
