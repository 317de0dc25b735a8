/**
 * Apps with caches, against the run's Redis (each test file under its own key prefix) or in memory.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { createApp, type App, type AppDeps } from '../../src/app.js';
import { buildCaches, type Caches, type CacheOptions } from '../../src/caches.js';
import { createFrontDoor, type FrontDoor } from '../../src/http/front-door.js';
import type { Database } from '../../src/db/client.js';
import { silentLogger } from './app.js';

export type CacheBackend = 'redis' | 'memory';

/** The backends this run can test: Redis when it answers (always in CI), and memory. */
export const backends = (): { backend: CacheBackend; skip: string | false }[] => [
  { backend: 'redis', skip: inject('redisUrl') ? false : inject('redisAbsentReason') },
  { backend: 'memory', skip: false },
];

export const redisAvailable = () => inject('redisUrl') !== null;
export const redisSkipReason = () => inject('redisAbsentReason');

export function newPrefix(): string {
  return `kvtest:${inject('runId')}:${randomBytes(3).toString('hex')}:`;
}

export function testRedis(): Redis {
  const url = inject('redisUrl');
  if (!url) throw new Error('no Redis for this run');
  const redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return redis;
}

/** Every key under a prefix (tests only: the API itself never scans). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  for (const key of keys) await redis.unlink(key);
}

export type CachedApp = { app: App; caches: Caches; front: FrontDoor };

export async function cachedApp(
  database: Database,
  options: Partial<CacheOptions> & { backend: CacheBackend; redis?: Redis; prefix?: string; app?: Partial<AppDeps> },
): Promise<CachedApp> {
  const { backend, app: appDeps, ...rest } = options;
  const caches = await buildCaches(
    {
      redisUrl: undefined,
      redisPrefix: options.prefix ?? 'kv:',
      redisTimeoutMs: 500,
      responseCache: true,
      entityCache: false,
      cacheDebug: true,
      responseGraceSeconds: 0,
      database,
      ...rest,
      ...(backend === 'redis' ? { redis: options.redis ?? testRedis() } : { redis: undefined }),
    },
    silentLogger,
  );
  const app = createApp({
    database,
    logger: silentLogger,
    entityCache: caches.entityCache,
    invalidator: caches.invalidator,
    cacheAdmin: caches.admin,
    counters: caches.counters,
    redis: caches.redis,
    tokens: caches.tokens,
    loginThrottle: caches.loginThrottle,
    responseCache: caches.responseCache,
    persisted: caches.persisted,
    ...appDeps,
  });
  return { app, caches, front: createFrontDoor(app, caches.responseCache) };
}
