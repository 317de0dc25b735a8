/**
 * A test database and two instances sharing one Redis prefix, `a` reaching Redis directly and `b` through the test TCP
 * proxy (so a test can cut or hold b's link alone), set up in the caller's `beforeAll` and closed
 * in its `afterAll` (the database last), on a single Redis (the in-process layers' tests; skipped in cluster mode, with
 * the reason in `skip`). The returned object is filled in before the first test runs.
 */
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { connectRedis, createRedis, type RedisClient } from '../../src/cache/redis/client.js';
import type { Database } from '../../src/db/client.js';
import { cachedApp, clusterMode, dropPrefix, newPrefix, testRedis, type CachedApp } from './caches.js';
import { openTestDatabase } from './database.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

export type ProxiedPair = {
  a: CachedApp;
  b: CachedApp;
  /** a's client, and b's (through the proxy). */
  direct: RedisClient;
  viaProxy: RedisClient;
  proxy: TcpProxy;
  prefix: string;
  database: Database;
  /** Why the tests are skipped (no Redis, or a Cluster run), or false. */
  skip: string | false;
};

/** Why tests of the in-process layers cannot run (no Redis, or a Cluster run), or false. */
export function inProcessLayersSkip(): string | false {
  // The layers need a single Redis (a Cluster's PUBLISH counts one node's receivers).
  if (clusterMode()) return 'the in-process layers run on a single Redis only';
  return inject('redisUrl') ? false : inject('redisAbsentReason');
}

export function proxiedPair(
  options: Omit<Parameters<typeof cachedApp>[1], 'backend' | 'redis' | 'prefix'>,
): ProxiedPair {
  const url = inject('redisUrl');
  const skip = inProcessLayersSkip();
  const pair = { prefix: '', skip } as ProxiedPair;
  beforeAll(async () => {
    pair.database = await openTestDatabase();
    if (skip) return;
    pair.prefix = newPrefix();
    const u = new URL(url!);
    pair.proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    pair.viaProxy = createRedis({ url: `redis://127.0.0.1:${pair.proxy.port}`, timeoutMs: 200 });
    expect(await connectRedis(pair.viaProxy)).toBeNull();
    pair.direct = testRedis();
    const common = { ...options, backend: 'redis', prefix: pair.prefix } as const;
    pair.a = await cachedApp(pair.database, { ...common, redis: pair.direct });
    pair.b = await cachedApp(pair.database, { ...common, redis: pair.viaProxy, redisProbeIntervalMs: 100 });
  });
  afterAll(async () => {
    await pair.a?.caches.close();
    await pair.b?.caches.close();
    pair.viaProxy?.disconnect();
    await pair.proxy?.close();
    if (pair.direct) {
      await dropPrefix(pair.direct, pair.prefix);
      pair.direct.disconnect();
    }
    await pair.database?.close();
  });
  return pair;
}
