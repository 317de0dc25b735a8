/**
 * Apps with caches, against the run's Redis (each test file under its own key prefix) or in memory.
 * In cluster mode (npm run test:cluster) "the run's Redis" is a Redis Cluster: the same tests, with
 * only the client differing.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';
import { isCluster, type RedisClient } from '../../src/cache/redis/client.js';
import { ScriptingCluster } from '../../src/cache/redis/cluster.js';
import { createApp, type App, type AppDeps } from '../../src/app.js';
import { buildCaches, type Caches, type CacheOptions } from '../../src/caches.js';
import { createFrontDoor, type FrontDoor } from '../../src/http/front-door.js';
import type { Database } from '../../src/db/client.js';
import { silentLogger, tokensFor } from './app.js';
import { hostPort } from './services.js';

export type CacheBackend = 'redis' | 'memory';

/** True in cluster mode: the run's Redis is a Redis Cluster. */
export const clusterMode = () => inject('redisCluster') !== null || inject('redisClusterAbsentReason') !== '';

/** Why the run's Redis is absent ('' when there is one). */
const absentReason = () => (clusterMode() ? inject('redisClusterAbsentReason') : inject('redisAbsentReason'));

/** The backends this run can test: Redis when it answers (always in CI), and memory. */
export const backends = (): { backend: CacheBackend; skip: string | false }[] => [
  { backend: 'redis', skip: redisAvailable() ? false : absentReason() },
  { backend: 'memory', skip: false },
];

export const redisAvailable = () => (clusterMode() ? inject('redisCluster') !== null : inject('redisUrl') !== null);
export const redisSkipReason = () => absentReason();

export function newPrefix(): string {
  return `kvtest:${inject('runId')}:${randomBytes(3).toString('hex')}:`;
}

/** A client of the run's Redis: a Cluster client in cluster mode. */
export function testRedis(): RedisClient {
  const seeds = inject('redisCluster');
  if (seeds) {
    const cluster = new ScriptingCluster(seeds.map(hostPort), {
      enableAutoPipelining: true,
      redisOptions: { maxRetriesPerRequest: 1 },
    });
    cluster.on('error', () => {});
    cluster.on('node error', () => {});
    return cluster;
  }
  if (clusterMode()) throw new Error('no Redis Cluster for this run');
  const url = inject('redisUrl');
  if (!url) throw new Error('no Redis for this run');
  const redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  return redis;
}

/** The nodes that hold keys: every master of a Cluster, or the one Redis. */
export const dataNodes = (redis: RedisClient): Redis[] => (isCluster(redis) ? redis.nodes('master') : [redis]);

/** Every key under a prefix, on every master (tests only: the API itself never scans). */
export async function keysUnder(redis: RedisClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (const node of dataNodes(redis)) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
  }
  return keys;
}

export async function dropPrefix(redis: RedisClient, prefix: string): Promise<void> {
  const keys = await keysUnder(redis, prefix);
  // One key per command: on a Cluster the keys live in many slots.
  await Promise.all(keys.map((key) => redis.unlink(key)));
}

export type CachedApp = { app: App; caches: Caches; front: FrontDoor };

/**
 * POSTs a query through the front door (the lean hit first, then yoga), as a client would, and
 * waits for the cache writes it started.
 */
export async function viaFrontDoor(
  c: CachedApp,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
): Promise<{ status: number; cache: string | null; text: string }> {
  const response = await c.front.fetch('http://kitvault.test/graphql', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await response.text();
  await c.caches.settled();
  return { status: response.status, cache: response.headers.get('x-cache'), text };
}

export async function cachedApp(
  database: Database,
  options: Partial<CacheOptions> & {
    backend: CacheBackend;
    redis?: RedisClient;
    prefix?: string;
    app?: Partial<AppDeps>;
  },
): Promise<CachedApp> {
  const { backend, app: appDeps, ...rest } = options;
  const caches = await buildCaches(
    {
      redisUrl: undefined,
      redisPrefix: options.prefix ?? 'kv:',
      redisTimeoutMs: 500,
      responseCache: true,
      entityCache: false,
      // The in-process layers are on wherever they can be (a single Redis), so every cache test runs with them.
      entityL1Mb: 8,
      responseL1Mb: 8,
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

export type EntityServers = {
  one: CachedApp;
  two: CachedApp;
  redis: RedisClient | undefined;
  prefix: string;
  admin: string;
};

/**
 * Two servers sharing one entity cache (response cache off), set up in the caller's `beforeAll`
 * and dropped in its `afterAll`: on Redis, two apps on one prefix; in memory, one app twice (a
 * memory cache is not shared). The returned object is filled in before the first test runs.
 */
export function entityServers(database: () => Database, backend: CacheBackend, skip: string | false): EntityServers {
  const servers = { redis: undefined, prefix: '', admin: '' } as EntityServers;
  beforeAll(async () => {
    if (skip) return;
    servers.prefix = newPrefix();
    if (backend === 'redis') servers.redis = testRedis();
    // The Redis level itself (its round trips and counts): no in-process layer in front of it.
    const options = {
      backend,
      redis: servers.redis,
      prefix: servers.prefix,
      responseCache: false,
      entityCache: true,
      entityL1Mb: 0,
    };
    servers.one = await cachedApp(database(), options);
    servers.two = backend === 'redis' ? await cachedApp(database(), options) : servers.one;
    servers.admin = (await tokensFor(servers.one.app, ['admin'])).get('admin')!.token;
  });
  afterAll(async () => {
    if (!servers.redis) return;
    await dropPrefix(servers.redis, servers.prefix);
    servers.redis.disconnect();
  });
  return servers;
}
