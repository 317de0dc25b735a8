/**
 * Builds the cache levels the config asks for: Redis when REDIS_URL is set, in-memory stores
 * otherwise (the embedded default), nothing for a level that is switched off. This is where the
 * generic caches (src/cache/) meet the domain: the field tag table and invalidation rules
 * (src/invalidation/), the registry's TTLs, and how a request names its session (src/auth/).
 * Says which backends it chose in one line for the start-up log.
 */
import type { Redis } from 'ioredis';
import { GRAPHQL_PATH } from './app.js';
import { TokenCache } from './auth/token-cache.js';
import { bearerToken, hashToken } from './auth/tokens.js';
import { createCacheAdmin, type CacheAdmin } from './cache/admin.js';
import { CacheCounters } from './cache/counters.js';
import { noEntityCache, type EntityCache } from './cache/entity/entity-cache.js';
import { createMemoryEntityStorage } from './cache/entity/memory-storage.js';
import { createReadThroughCache } from './cache/entity/read-through.js';
import { createRedisEntityStorage } from './cache/entity/redis-storage.js';
import { connectRedis, createRedis } from './cache/redis/client.js';
import { createRedisErrorReporter } from './cache/redis/error-reporter.js';
import {
  createMemoryResponseStore,
  createRedisResponseStore,
  createResponseCache,
  failOpen,
  type FieldTagTable,
  type ResponseCache,
  type ResponseStore,
} from './cache/response/index.js';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import type { Invalidator } from './domain/changes.js';
import { entityTtlMs, type Namespace } from './domain/registry.js';
import { createCacheInvalidator } from './invalidation/invalidator.js';
import { fieldTags } from './invalidation/table.js';
import type { Logger } from './observability/logger.js';

export type CacheOptions = Pick<
  Config,
  'redisUrl' | 'redisPrefix' | 'redisTimeoutMs' | 'responseCache' | 'entityCache' | 'cacheDebug'
> &
  Partial<Pick<Config, 'entityTtlSeconds' | 'entityNegativeTtlSeconds' | 'responseGraceSeconds'>> & {
    /** An existing client (tests share one); otherwise one is made from redisUrl. */
    redis?: Redis;
    /** Multiplies response TTLs (tests only). */
    ttlScale?: number;
    /** Another field tag table than the domain's (tests of the cache's independence). */
    fieldTags?: FieldTagTable;
  };

export type Caches = {
  counters: CacheCounters;
  redis: Redis | null;
  responseStore: ResponseStore | null;
  /** The response cache (null when it is off): plugins for yoga, the lean hit for the front door. */
  responseCache: ResponseCache<AppContext> | null;
  entityCache: EntityCache<Namespace>;
  invalidator: Invalidator;
  admin: CacheAdmin;
  /** Verified tokens, remembered for the lean hit's private answers. */
  tokens: TokenCache;
  /** Resolves when every response write started so far has landed (tests, shutdown). */
  settled(): Promise<void>;
  description: string;
  close(): Promise<void>;
};

/** A PRIVATE operation is cached per signed-in user; anonymous callers share the 'anon' session. */
async function sessionOfContext(context: AppContext): Promise<string> {
  const viewer = await context.auth.viewer();
  return viewer ? `u:${viewer.id}` : 'anon';
}

/** The same session from the header alone: only for a token this server has recently seen verified. */
const sessionOfHeader =
  (tokens: TokenCache) =>
  (authorization: string | undefined): string | undefined => {
    if (!authorization) return 'anon';
    const token = bearerToken(authorization);
    const userId = token ? tokens.userOf(hashToken(token)) : undefined;
    return userId === undefined ? undefined : `u:${userId}`;
  };

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

  const tokens = new TokenCache();
  let responseStore: ResponseStore | null = null;
  let responseCache: ResponseCache<AppContext> | null = null;
  if (options.responseCache) {
    const raw = redis ? createRedisResponseStore({ redis, prefix: options.redisPrefix }) : createMemoryResponseStore();
    responseStore = failOpen(raw, report, counters);
    responseCache = createResponseCache<AppContext>({
      store: responseStore,
      counters,
      fieldTags: options.fieldTags ?? fieldTags,
      session: sessionOfContext,
      sessionOf: sessionOfHeader(tokens),
      debug: options.cacheDebug,
      graphqlPath: GRAPHQL_PATH,
      graceMs: (options.responseGraceSeconds ?? 30) * 1000,
      ...(options.ttlScale !== undefined ? { ttlScale: options.ttlScale } : {}),
    });
  }
  const entityCache: EntityCache<Namespace> = options.entityCache
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
  const settled = async () => {
    await responseCache?.settled();
  };
  return {
    counters,
    redis,
    responseStore,
    responseCache,
    entityCache,
    invalidator,
    admin: createCacheAdmin({ counters, redis, responseStore, entityCache, timeoutMs: options.redisTimeoutMs }),
    tokens,
    settled,
    description: `response cache: ${options.responseCache ? where : 'off'} · entity cache: ${options.entityCache ? where : 'off'}`,
    async close() {
      await settled();
      if (ownsRedis && redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
