/**
 * A write's durable invalidation record belongs to its writer while the writer delivers it: other
 * instances, following the records, apply it only once it is due (its writer died, or gave up).
 * Under load a delivery can take longer than a moment, and every instance applying it again would
 * be work and misses for nothing. Real Postgres and Redis; the writer reaches Redis through the test
 * TCP proxy, which holds its link for a while (a slow delivery that succeeds) or cuts it (one that fails).
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectRedis, createRedis, type RedisClient } from '../../src/cache/redis/client.js';
import type { Database } from '../../src/db/client.js';
import { invalidationLogRepository } from '../../src/db/repositories/invalidation-log.js';
import { data, tokensFor } from '../helpers/app.js';
import { cachedApp, clusterMode, dropPrefix, newPrefix, testRedis, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { KIT_CLUB, RENAME_KIT } from '../helpers/stale-reads.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const url = inject('redisUrl');
const skip = clusterMode() ? 'the proxy stands before a single Redis' : url ? false : inject('redisAbsentReason');

describe('an invalidation record and its writer', () => {
  let database: Database;
  let proxy: TcpProxy;
  let viaProxy: RedisClient;
  let shared: RedisClient;
  let writer: CachedApp;
  let follower: CachedApp;
  let admin = '';
  const prefix = newPrefix();
  beforeAll(async () => {
    database = await openTestDatabase();
    if (skip) return;
    const u = new URL(url!);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    // Patient enough to outlast the hold below: the writer's delivery is slow, not failed.
    viaProxy = createRedis({ url: `redis://127.0.0.1:${proxy.port}`, timeoutMs: 3000 });
    expect(await connectRedis(viaProxy)).toBeNull();
    shared = testRedis();
    writer = await cachedApp(database, { backend: 'redis', redis: viaProxy, prefix, redisProbeIntervalMs: 100 });
    follower = await cachedApp(database, { backend: 'redis', redis: shared, prefix });
    for (const app of [writer, follower]) app.caches.followInvalidations(50);
    admin = (await tokensFor(follower.app, ['admin'])).get('admin')!.token;
  });
  afterAll(async () => {
    await writer?.caches.close();
    await follower?.caches.close();
    viaProxy?.disconnect();
    await proxy?.close();
    if (shared) {
      await dropPrefix(shared, prefix);
      shared.disconnect();
    }
    await database?.close();
  });
  const replayed = (app: CachedApp) => app.caches.counters.get('invalidation_replayed');

  it.skipIf(skip)(
    `is applied by its writer alone while the writer is slow to deliver it${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const before = replayed(follower);
      proxy.holdExisting();
      const started = performance.now();
      const rename = data(writer.app, RENAME_KIT, { id: '61', name: `Slow delivery ${prefix}` }, admin);
      // Held for well past a moment (the followers look every 50 ms) but within the writer's claim
      // (1 s), then released: the writer's own delivery goes through.
      await new Promise((resolve) => setTimeout(resolve, 700));
      proxy.heal();
      await rename;
      expect(performance.now() - started).toBeGreaterThanOrEqual(700); // it was slow
      // A follower that took it up would still be delivering it (its announce waits out the held
      // writer, 1 s); it is counted when done.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(replayed(follower) - before).toBe(0);
      expect(await invalidationLogRepository(database.db).pending(10)).toEqual([]);
    },
  );

  it.skipIf(skip)('is applied by another instance as soon as its writer gives up on it', async () => {
    const before = replayed(follower);
    // The follower holds the old name in its response cache.
    for (let i = 0; i < 2; i++) await data(follower.app, KIT_CLUB, { id: '62' });
    proxy.cut();
    try {
      const name = `Failed delivery ${prefix}`;
      await data(writer.app, RENAME_KIT, { id: '62', name }, admin);
      // The mutation answered only once the follower had delivered it (the follower's announce
      // waits out the cut-off writer's layers, 1 s; the writer's claim was handed over at once).
      expect(((await data(follower.app, KIT_CLUB, { id: '62' })) as { kit: { name: string } }).kit.name).toBe(name);
      expect(replayed(follower) - before).toBe(1);
      expect(await invalidationLogRepository(database.db).pending(10)).toEqual([]);
    } finally {
      proxy.heal();
    }
  });
});
