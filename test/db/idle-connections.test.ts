/**
 * DATABASE_IDLE_TIMEOUT_MS: a pool connection unused that long is closed, so a burst does not keep
 * Postgres's connection slots (a server process each) for the instance's life; the next statement
 * opens one again. Without the option (tools, tests) connections stay open.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

const noPostgres = inject('pgTemplate') ? false : inject('pgAbsentReason');

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

/** Four statements at once on `pool`: four connections opened; their server process ids. */
async function burst(pool: Database): Promise<number[]> {
  const rows = await Promise.all(
    Array.from(
      { length: 4 },
      async () =>
        (await pool.db.execute(sql`select pg_backend_pid() as pid, pg_sleep(0.2)`)) as unknown as { pid: number }[],
    ),
  );
  return [...new Set(rows.map((r) => Number(r[0]!.pid)))];
}

/** How many of these server processes are still connected (asked on the test's own pool). */
async function stillOpen(pids: number[]): Promise<number> {
  const [row] = (await database.db.execute(
    sql`select count(*) as n from pg_stat_activity where pid in ${sql.raw(`(${pids.join(',')})`)}`,
  )) as unknown as { n: string }[];
  return Number(row!.n);
}

describe.skipIf(noPostgres)('idle pool connections (real Postgres)', () => {
  it('are closed after DATABASE_IDLE_TIMEOUT_MS, and opened again on demand', async () => {
    const pool = await openDatabase({ url: database.url!, maxConnections: 4, idleTimeoutMs: 1000 });
    try {
      const pids = await burst(pool);
      expect(pids).toHaveLength(4);
      expect(await stillOpen(pids)).toBe(4);
      await new Promise((r) => setTimeout(r, 2500));
      expect(await stillOpen(pids)).toBe(0);
      const again = await burst(pool);
      expect(again).toHaveLength(4);
      expect(again.some((pid) => pids.includes(pid))).toBe(false);
    } finally {
      await pool.close();
    }
  });

  it('stay open without it', async () => {
    const pool = await openDatabase({ url: database.url!, maxConnections: 4 });
    try {
      const pids = await burst(pool);
      await new Promise((r) => setTimeout(r, 2500));
      expect(await stillOpen(pids)).toBe(4);
    } finally {
      await pool.close();
    }
  });
});
