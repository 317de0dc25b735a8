/**
 * Builds the cache levels the config asks for: Redis when REDIS_URL is set, in-memory stores
 * otherwise (the embedded default), nothing for a level that is switched off. Says which in one
 * line for the start-up log.
 */
import type { Redis } from 'ioredis';
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import { entityTtlMs, type Namespace } from '../domain/registry.js';
import type { AppContext } from '../context.js';
import type { Logger } from '../observability/logger.js';
import type { Invalidator } from '../domain/changes.js';
import { createCacheAdmin, type CacheAdmin } from './admin.js';
import { CacheCounters } from './counters.js';
import { noEntityCache, type EntityCache } from './entity/entity-cache.js';
import { createMemoryEntityStorage } from './entity/memory-storage.js';
import { createReadThroughCache } from './entity/read-through.js';
import { createRedisEntityStorage } from './entity/redis-storage.js';
import { fieldTags } from '../invalidation/table.js';
import { createCacheInvalidator } from '../invalidation/invalidator.js';
import { connectRedis, createRedis } from './redis/client.js';
import { createRedisErrorReporter } from './redis/error-reporter.js';
import { failOpen } from './response/fail-open.js';
import { createMemoryResponseStore } from './response/memory-store.js';
import { createResponseCachePlugins } from './response/plugin.js';
import { createRedisResponseStore } from './response/redis-store.js';
import type { ResponseStore } from './response/store.js';
import { TokenCache } from '../auth/token-cache.js';
import { LearntDocuments, type FastPathDeps } from '../http/fast-path.js';

export type CacheOptions = Pick<
  Config,
  'redisUrl' | 'redisPrefix' | 'redisTimeoutMs' | 'responseCache' | 'entityCache' | 'cacheDebug'
> &
  Partial<Pick<Config, 'entityTtlSeconds' | 'entityNegativeTtlSeconds' | 'responseGraceSeconds'>> & {
  /** An existing client (tests share one); otherwise one is made from redisUrl. */
  redis?: Redis;
  /** Multiplies response TTLs (tests only). */
  ttlScale?: number;
};

export type Caches = {
  counters: CacheCounters;
  redis: Redis | null;
  responseStore: ResponseStore | null;
  entityCache: EntityCache<Namespace>;
  invalidator: Invalidator;
  admin: CacheAdmin;
  plugins: Plugin<AppContext>[];
  /** Resolves when every response write started so far has landed (tests, shutdown). */
  settled(): Promise<void>;
  /** What the HTTP fast path needs (null when the response cache is off). */
  fastPath: Omit<FastPathDeps, 'refresh'> | null;
  tokens: TokenCache;
  description: string;
  close(): Promise<void>;
};

/** A PRIVATE operation is cached per signed-in user; anonymous callers share the 'anon' session. */
async function sessionOf(context: AppContext): Promise<string> {
  const viewer = await context.auth.viewer();
  return viewer ? `u:${viewer.id}` : 'anon';
}

export async function buildCaches(options: CacheOptions, logger: Logger): Promise<Caches> {
  const counters = new CacheCounters();
  const report = createRedisErrorReporter(logger, counters);
  let redis: Redis | null = options.redis ?? null;
  const ownsRedis = !options.redis && !!options.redisUrl;
  if (!redis && options.redisUrl) {
    redis = createRedis({ url: options.redisUrl, timeoutMs: options.redisTimeoutMs });
    const error = await connectRedis(redis);
    if (error) logger.warn({ err: error.message }, 'redis is not reachable yet: serving from the database meanwhile');
  }

  let responseStore: ResponseStore | null = null;
  let plugins: Plugin<AppContext>[] = [];
  let settled = async () => {};
  const tokens = new TokenCache();
  const documents = new LearntDocuments();
  if (options.responseCache) {
    const raw = redis ? createRedisResponseStore({ redis, prefix: options.redisPrefix }) : createMemoryResponseStore();
    responseStore = failOpen(raw, report, counters);
    const built = createResponseCachePlugins<AppContext>({
      store: responseStore,
      counters,
      fieldTags,
      session: sessionOf,
      debug: options.cacheDebug,
      graceMs: (options.responseGraceSeconds ?? 30) * 1000,
      documentIndex: documents,
      ...(options.ttlScale !== undefined ? { ttlScale: options.ttlScale } : {}),
    });
    plugins = built.plugins;
    settled = built.settled;
  }
  const entityCache = options.entityCache
    ? createReadThroughCache<Namespace>({
        storage: redis ? createRedisEntityStorage(redis) : createMemoryEntityStorage(),
        prefix: options.redisPrefix,
        ttlMs: entityTtlMs(options.entityTtlSeconds ?? {}),
        negativeTtlMs: (options.entityNegativeTtlSeconds ?? 30) * 1000,
        counters,
        report,
      })
    : noEntityCache;
  const invalidator = createCacheInvalidator({ entityCache, responseStore, counters, logger });
  const where = redis ? `redis (prefix "${options.redisPrefix}")` : 'memory';
  return {
    counters,
    redis,
    responseStore,
    entityCache,
    invalidator,
    admin: createCacheAdmin({ counters, redis, responseStore, entityCache, timeoutMs: options.redisTimeoutMs }),
    plugins,
    settled,
    fastPath: responseStore ? { store: responseStore, documents, tokens, counters, debug: options.cacheDebug } : null,
    tokens,
    description: `response cache: ${options.responseCache ? where : 'off'} · entity cache: ${options.entityCache ? where : 'off'}`,
    async close() {
      await settled();
      if (ownsRedis && redis) await redis.quit().catch(() => redis!.disconnect());
    },
  };
}
