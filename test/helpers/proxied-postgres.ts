/**
 * An instance with both cache levels whose Postgres is reached through the test TCP proxy (so a
 * test can cut it, hold it, or lose a reply), set up in the caller's `beforeAll` and closed in its
 * `afterAll`; the caller's own database (`database()`, opened in its own `beforeAll` first) is the
 * one proxied. The returned object is filled in before the first test runs.
 */
import { afterAll, beforeAll } from 'vitest';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { cachedApp, dropPrefix, newPrefix, testRedis, type CachedApp } from './caches.js';
import { addressOf, throughPort, type TestDatabase } from './database.js';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.js';

export type ProxiedPostgres = {
  proxy: TcpProxy;
  /** The database as the instance reaches it: through the proxy. */
  proxied: Database;
  cached: CachedApp;
  prefix: string;
};

export function proxiedPostgres(options: {
  database: () => TestDatabase;
  backend: 'memory' | 'redis';
  /** Why not to set anything up (the tests are skipped), or false. */
  skip: string | false;
  timeoutMs: number;
}): ProxiedPostgres {
  const setup = { prefix: newPrefix() } as ProxiedPostgres;
  let redis: RedisClient | undefined;
  beforeAll(async () => {
    if (options.skip) return;
    const url = options.database().url!;
    setup.proxy = await startTcpProxy(addressOf(url));
    setup.proxied = await openDatabase({
      url: throughPort(url, setup.proxy.port),
      maxConnections: 3,
      timeoutMs: options.timeoutMs,
    });
    if (options.backend === 'redis') redis = testRedis();
    setup.cached = await cachedApp(setup.proxied, {
      backend: options.backend,
      redis,
      prefix: setup.prefix,
      responseCache: true,
      entityCache: true,
    });
  });
  afterAll(async () => {
    await setup.proxied?.close();
    await setup.proxy?.close();
    if (redis) {
      await dropPrefix(redis, setup.prefix);
      redis.disconnect();
    }
  });
  return setup;
}
