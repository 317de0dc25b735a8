/**
 * Where a follower starts: shared caches keep their change-log position in Redis, so an instance
 * started after writes nobody followed applies them; a position older than the log's retention (rows
 * may have been pruned unseen) flushes both levels before anything cached is served.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FollowChangesOptions } from '../../src/caches.js';
import { cachedApp, dropPrefix, newPrefix, redisSkipReason, testRedis, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase, usingRealPostgres, type TestDatabase } from '../helpers/database.js';
import { ask, KIT, warm } from './asking.js';

const skip = !usingRealPostgres() ? 'needs Postgres' : redisSkipReason() || false;

describe.skipIf(skip)('the change-log position of shared caches', () => {
  let database: TestDatabase;
  let sql: postgres.Sql;
  let redis: RedisClient;
  const prefixes: string[] = [];
  const started: CachedApp[] = [];

  beforeAll(async () => {
    database = await openTestDatabase();
    sql = postgres(database.url!, { max: 1, onnotice: () => {} });
    redis = testRedis();
  });
  afterAll(async () => {
    for (const c of started) await c.caches.close();
    for (const p of prefixes) await dropPrefix(redis, p);
    redis?.disconnect();
    await sql?.end();
    await database?.close();
  });

  async function instance(prefix: string, follow: FollowChangesOptions = {}): Promise<CachedApp> {
    const c = await cachedApp(database, { backend: 'redis', redis, prefix, entityCache: true });
    started.push(c);
    await c.caches.followChanges({ pollMs: 60_000, ...follow });
    return c;
  }
  const stop = async (c: CachedApp) => {
    await c.caches.close();
    started.splice(started.indexOf(c), 1);
  };

  it('an instance started after writes nobody followed resumes from the shared position, without a flush', async () => {
    const prefix = newPrefix();
    prefixes.push(prefix);
    const first = await instance(prefix);
    await warm(first, KIT, { k: 30 });
    await warm(first, KIT, { k: 31 });
    await stop(first);
    await sql`update kits set name = 'written while nobody followed' where id = 30`;

    const next = await instance(prefix);
    expect(next.caches.counters.get('change_applied')).toBe(1);
    expect(next.caches.counters.get('change_purge')).toBe(0);
    expect((await ask(next, KIT, { k: 30 })).data).toEqual({ kit: { name: 'written while nobody followed' } });
    // Not flushed: what the write did not touch is still cached.
    expect((await ask(next, KIT, { k: 31 })).extensions?.responseCache?.hit).toBe(true);
  });

  it('a position older than the retention flushes both levels before trusting them', async () => {
    const prefix = newPrefix();
    prefixes.push(prefix);
    const first = await instance(prefix);
    await warm(first, KIT, { k: 32 });
    await stop(first);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const next = await instance(prefix, { retentionMs: 20 });
    expect(next.caches.counters.get('change_purge', 'position')).toBe(1);
    expect((await ask(next, KIT, { k: 32 })).extensions?.responseCache?.hit).toBe(false);
  });

  it('prunes log rows older than the retention, and only those', async () => {
    const prefix = newPrefix();
    prefixes.push(prefix);
    await sql`update kits set name = 'old news' where id = 33`;
    await sql`update kits set name = 'fresh news' where id = 34`;
    const [old, fresh] = await sql`select id from cache_changes order by id desc limit 2`.then((r) => [
      r[1]!.id,
      r[0]!.id,
    ]);
    await sql`update cache_changes set created_at = now() - interval '2 hours' where id = ${old}`;
    await instance(prefix, { pruneEveryMs: 20 });
    const ids = async () => (await sql`select id from cache_changes where id in (${old}, ${fresh})`).map((r) => r.id);
    await vi.waitFor(async () => expect(await ids()).toEqual([fresh]), { timeout: 20_000, interval: 20 });
  });
});
