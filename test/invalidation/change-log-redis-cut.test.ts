/**
 * A change made outside the API while the follower cannot reach Redis is not lost: the round fails,
 * the instance stops trusting Redis (breaker open: answers come from the database), and the breaker's
 * recovery applies the change log before anything is served from Redis again.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { connectRedis, createRedis, type RedisClient } from '../../src/cache/redis/client.js';
import { cachedApp, dropPrefix, newPrefix, redisSkipReason, testRedis, type CachedApp } from '../helpers/caches.js';
import { ask, KIT } from './asking.js';
import { openTestDatabase, usingRealPostgres, type TestDatabase } from '../helpers/database.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const skip = !usingRealPostgres() ? 'needs Postgres' : redisSkipReason() || false;

describe.skipIf(skip)('a change made while the follower is cut off from Redis', () => {
  let database: TestDatabase;
  let sql: postgres.Sql;
  let direct: RedisClient;
  let viaProxy: RedisClient;
  let proxy: TcpProxy;
  let prefix = '';
  let instance: CachedApp;

  beforeAll(async () => {
    database = await openTestDatabase();
    sql = postgres(database.url!, { max: 1, onnotice: () => {} });
    direct = testRedis();
    const u = new URL(inject('redisUrl')!);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    viaProxy = createRedis({ url: `redis://127.0.0.1:${proxy.port}`, timeoutMs: 200 });
    expect(await connectRedis(viaProxy)).toBeNull();
    prefix = newPrefix();
    instance = await cachedApp(database, {
      backend: 'redis',
      redis: viaProxy,
      prefix,
      entityCache: true,
      redisProbeIntervalMs: 100,
    });
    await instance.caches.followChanges({ pollMs: 60_000 });
  });
  afterAll(async () => {
    await instance?.caches.close();
    viaProxy?.disconnect();
    await proxy?.close();
    await dropPrefix(direct, prefix);
    direct?.disconnect();
    await sql?.end();
    await database?.close();
  });

  it('is applied by the recovery before Redis is trusted again', async () => {
    await ask(instance, KIT, { k: 40 });
    expect((await ask(instance, KIT, { k: 40 })).extensions?.responseCache?.hit).toBe(true);
    const breaker = () => instance.caches.breaker?.current;
    proxy.cut();
    const name = `renamed while cut off ${Date.now()}`;
    await sql`update kits set name = ${name} where id = 40`;
    // The notified round cannot deliver: the instance stops trusting Redis and answers from the database.
    await vi.waitFor(() => expect(breaker()).toBe('open'), { timeout: 20_000, interval: 20 });
    expect((await ask(instance, KIT, { k: 40 })).data).toEqual({ kit: { name } });
    proxy.heal();
    await vi.waitFor(() => expect(breaker()).toBe('closed'), { timeout: 20_000, interval: 20 });
    expect(instance.caches.counters.get('change_catch_up', 'recovery')).toBeGreaterThan(0);
    const after = await ask(instance, KIT, { k: 40 });
    expect(after.extensions?.responseCache?.hit).toBe(false);
    expect(after.data).toEqual({ kit: { name } });
  });
});
