/**
 * Builds the cache levels the config asks for: Redis when REDIS_URL is set, in-memory stores
 * otherwise (the embedded default), nothing for a level that is switched off. This is where the
 * generic caches (src/cache/) meet the domain: the field tag table and invalidation rules
 * (src/invalidation/), the registry's TTLs, and how a request names its session (src/auth/).
 * Says which backends it chose in one line for the start-up log.
 */
import { GRAPHQL_PATH } from './app.js';
import { clientAddressOf } from './http/client-address.js';
import {
  DEFAULT_LOGIN_LIMITS,
  LoginThrottle,
  MemoryAttemptCounters,
  redisAttemptCounters,
} from './auth/login-throttle.js';
import { TokenCache } from './auth/token-cache.js';
import { shareRevocations } from './auth/token-revocation.js';
import { tokenHasher } from './auth/tokens.js';
import { createCacheAdmin, type CacheAdmin } from './cache/admin.js';
import { CacheCounters } from './cache/counters.js';
import { purgeTwice, type EdgePurge } from './cache/edge/purge-twice.js';
import type { EdgePurger } from './cache/edge/purger.js';
import { createVarnishPurger } from './cache/edge/varnish-purger.js';
import { noEntityCache, type EntityCache } from './cache/entity/entity-cache.js';
import { createMemoryEntityStorage } from './cache/entity/memory-storage.js';
import { createReadThroughCache, ENTITY_LAYER_NAME } from './cache/entity/read-through.js';
import { createRedisEntityStorage } from './cache/entity/redis-storage.js';
import type { Redis } from 'ioredis';
import { createDropChannel, dropChannelUnsupported, type DropChannel } from './cache/local/drop-channel.js';
import { createDropMarks } from './cache/local/drop-marks.js';
import { createLocalLayer, type LocalLayer } from './cache/local/local-layer.js';
import { CircuitBreaker, CircuitOpenError } from './cache/redis/circuit-breaker.js';
import { connectRedis, createRedis, isCluster, type RedisClient } from './cache/redis/client.js';
import { createRedisErrorReporter } from './cache/redis/error-reporter.js';
import {
  createMemoryResponseStore,
  createRedisResponseStore,
  createResponseCache,
  failOpen,
  RESPONSE_LAYER_NAME,
  withLocalLayer,
  type FailOpenStore,
  type FieldTagTable,
  type LocalEntry,
  type ResponseCache,
} from './cache/response/index.js';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import type { Database } from './db/client.js';
import { changeLogRepository } from './db/repositories/change-log.js';
import { invalidationLogRepository } from './db/repositories/invalidation-log.js';
import { entityTtlMs, type Namespace } from './domain/registry.js';
import {
  CHANGE_CHANNEL,
  createChangeFollower,
  type ChangeFollower,
  type ChangeFollowerDeps,
} from './invalidation/change-follower.js';
import { createCacheInvalidator, type CacheInvalidator } from './invalidation/invalidator.js';
import { fieldTags } from './invalidation/table.js';
import type { Logger } from './observability/logger.js';
import {
  createMemoryPersistedStore,
  createPersistedOperations,
  createRedisPersistedStore,
  type PersistedOperations,
} from './persisted/index.js';

export type CacheOptions = Pick<
  Config,
  'redisUrl' | 'redisPrefix' | 'redisTimeoutMs' | 'responseCache' | 'entityCache' | 'cacheDebug'
> &
  Partial<Pick<Config, 'redisClusterNodes'>> &
  Partial<
    Pick<
      Config,
      | 'entityTtlSeconds'
      | 'entityNegativeTtlSeconds'
      | 'entityL1Mb'
      | 'responseL1Mb'
      | 'responseGraceSeconds'
      | 'responseMaxTagVersions'
    >
  > &
  Partial<Pick<Config, 'loginMaxAttempts' | 'loginMaxAttemptsPerAddress' | 'loginWindowSeconds'>> &
  Partial<
    Pick<
      Config,
      | 'persistedQueries'
      | 'persistedQueriesTtlSeconds'
      | 'persistedQueriesMaxBytes'
      | 'persistedQueriesRegistrationsPerMinute'
      | 'trustProxy'
      | 'trustedDocuments'
      | 'trustedDocumentsOnly'
    >
  > &
  Partial<Pick<Config, 'edgePurgeUrls' | 'edgePurgeTimeoutMs' | 'edgeRepurgeDelayMs' | 'edgeMaxAgeSeconds'>> & {
    /** An edge purger of one's own (tests; a hosted CDN's API) instead of Varnish at edgePurgeUrls. */
    edgePurger?: EdgePurger;
    /** An existing client (tests share one); otherwise one is made from redisClusterNodes or redisUrl. */
    redis?: RedisClient;
    /** Multiplies response TTLs (tests only). */
    ttlScale?: number;
    /** Another field tag table than the domain's (tests of the cache's independence). */
    fieldTags?: FieldTagTable;
    /** Where invalidations are recorded durably when the caches are shared (Redis). */
    database?: Database;
    /** How long a coalesced miss is waited for (tests shorten it). Default 5,000 ms. */
    joinWaitMs?: number;
    /** How often an open circuit breaker probes Redis. Default 1,000 ms. */
    redisProbeIntervalMs?: number;
  };

export type Caches = {
  counters: CacheCounters;
  redis: RedisClient | null;
  responseStore: FailOpenStore | null;
  /** The response cache (null when it is off): plugins for yoga, the lean hit for the front door. */
  responseCache: ResponseCache<AppContext> | null;
  entityCache: EntityCache<Namespace>;
  /** The entity cache's in-process layer and its drop channel (ENTITY_L1_MB; null when off). */
  entityLocal: { layer: LocalLayer; channel: DropChannel } | null;
  /** The response cache's in-process layer and the same drop channel (RESPONSE_L1_MB; null when off). */
  responseLocal: { layer: LocalLayer<LocalEntry>; channel: DropChannel } | null;
  invalidator: CacheInvalidator;
  /** Stops asking Redis after a failure until a probe says it is back (null without Redis). */
  breaker: CircuitBreaker | null;
  admin: CacheAdmin;
  /** Verified tokens, remembered for the lean hit's private answers; with Redis, logout on any instance evicts here. */
  tokens: TokenCache;
  /** Failed sign-ins per username and address: in Redis when there is one (in memory when it fails), else in memory. */
  loginThrottle: LoginThrottle;
  /** APQ registrations (in Redis when there is one) and trusted documents: a yoga plugin, and the lean hit's view. */
  persisted: PersistedOperations;
  /** Resolves when every response write, and every delete of a delivered invalidation record, started so far has landed (tests, shutdown). */
  settled(): Promise<void>;
  description: string;
  /** Starts applying the invalidations other instances recorded but could not deliver (main.ts). */
  followInvalidations(intervalMs?: number): void;
  /**
   * Starts following the change log (writes made outside the API): catches up first, then applies
   * what Postgres notifies, polls as a backstop. Needs `database`; a no-op without it.
   */
  followChanges(options?: FollowChangesOptions): Promise<void>;
  /**
   * Told how long each drop a write announced took to reach every instance's in-process layers
   * (the bound on how long another instance could still serve what the write dropped; the write
   * answers after it). For a histogram; must not throw.
   */
  onDropDelivered(listener: (ms: number) => void): void;
  close(): Promise<void>;
};

export type FollowChangesOptions = Pick<ChangeFollowerDeps, 'pollMs' | 'retentionMs' | 'pruneEveryMs' | 'onApplied'>;

/**
 * The in-process layers (L1) of both cache levels and the one drop channel that keeps them coherent:
 * each is emptied of what every instance's writes drop from it, and both of everything when the
 * channel is lost. Null when neither is on.
 */
function inProcessLayers(
  redis: Redis,
  prefix: string,
  bytes: { entity: number; response: number },
  report: (where: string, error: unknown) => void,
  onDelivered: (ms: number, acknowledged: boolean) => void,
): InProcessLayers | null {
  if (bytes.entity <= 0 && bytes.response <= 0) return null;
  const marks = createDropMarks();
  const entity = bytes.entity > 0 ? createLocalLayer({ name: ENTITY_LAYER_NAME, marks, maxBytes: bytes.entity }) : null;
  const response =
    bytes.response > 0
      ? createLocalLayer<LocalEntry>({ name: RESPONSE_LAYER_NAME, marks, maxBytes: bytes.response })
      : null;
  const layers = new Map<string, Pick<LocalLayer, 'drop' | 'clear'>>([
    ...(entity ? ([[ENTITY_LAYER_NAME, entity]] as const) : []),
    ...(response ? ([[RESPONSE_LAYER_NAME, response]] as const) : []),
  ]);
  const channel = createDropChannel({
    redis,
    // Named when only the entity cache had a layer; kept, so that instances of either build hear
    // each other's drops and heartbeats during a rolling deploy.
    channel: `${prefix}entity:drops`,
    marks,
    onDrop(drop) {
      const layer = layers.get(drop.layer);
      if (drop.all) layer?.clear();
      else layer?.drop(drop.keys, drop.groups);
    },
    onLost() {
      entity?.clear();
      response?.clear();
    },
    report,
    onDelivered,
  });
  return {
    channel,
    entity: entity && { layer: entity, channel },
    response: response && { layer: response, channel },
  };
}

type InProcessLayers = {
  channel: DropChannel;
  entity: { layer: LocalLayer; channel: DropChannel } | null;
  response: { layer: LocalLayer<LocalEntry>; channel: DropChannel } | null;
};

/** A PRIVATE operation is cached per signed-in user; anonymous callers share the 'anon' session. */
async function sessionOfContext(context: AppContext): Promise<string> {
  const viewer = await context.auth.viewer();
  return viewer ? `u:${viewer.id}` : 'anon';
}

/** The same session from the header alone: only for a token this server has recently seen verified. */
const sessionOfHeader = (tokens: TokenCache) => {
  const hashOf = tokenHasher();
  return (authorization: string | undefined): string | undefined => {
    if (!authorization) return 'anon';
    const hash = hashOf(authorization);
    const userId = hash === null ? undefined : tokens.userOf(hash);
    return userId === undefined ? undefined : `u:${userId}`;
  };
};

export async function buildCaches(options: CacheOptions, logger: Logger): Promise<Caches> {
  const counters = new CacheCounters();
  const report = createRedisErrorReporter(logger, counters);
  // A cluster wins over a single Redis (config.ts has already dropped REDIS_URL then).
  const clusterNodes = options.redisClusterNodes?.length ? options.redisClusterNodes : undefined;
  const made = options.redis
    ? null
    : clusterNodes
      ? createRedis({ clusterNodes, timeoutMs: options.redisTimeoutMs })
      : options.redisUrl
        ? createRedis({ url: options.redisUrl, timeoutMs: options.redisTimeoutMs })
        : null;
  const ownsRedis = made !== null;
  const redis: RedisClient | null = options.redis ?? made;
  if (made) {
    const error = await connectRedis(made);
    if (error) logger.warn({ err: error.message }, 'redis is not reachable yet: serving from the database meanwhile');
  }

  // Recovery (applying what could not be delivered meanwhile) comes before any cached answer.
  const breaker = redis
    ? new CircuitBreaker({
        probe: () => redis.ping(),
        recover: async () => {
          await invalidator.catchUp();
          if (changes) counters.inc('change_catch_up', 'recovery');
          await changes?.catchUp();
        },
        ...(options.redisProbeIntervalMs !== undefined ? { probeIntervalMs: options.redisProbeIntervalMs } : {}),
        onStateChange: (state) => logger.warn({ state }, `redis circuit ${state}`),
      })
    : null;

  /** Failures of the auth side's Redis calls (publish, login counters), counted like the caches' own. */
  const reportAuth = (where: string, error: unknown) =>
    error instanceof CircuitOpenError ? counters.inc('redis_short_circuit', where) : report(where, error);
  // With Redis there may be other instances: until revocations from them arrive, entries live 1 s only.
  const tokens = new TokenCache({ degraded: !!redis });
  const revocations = redis
    ? shareRevocations({
        redis,
        prefix: options.redisPrefix,
        tokens,
        report: reportAuth,
        warn: (message, error) => logger.warn({ err: error instanceof Error ? error.message : String(error) }, message),
        readyTimeoutMs: Math.max(options.redisTimeoutMs, 1000),
        ...(breaker ? { run: <T>(call: () => Promise<T>) => breaker.run(call) } : {}),
      })
    : null;
  const loginThrottle = new LoginThrottle(
    {
      maxPerUsername: options.loginMaxAttempts ?? DEFAULT_LOGIN_LIMITS.maxPerUsername,
      maxPerAddress: options.loginMaxAttemptsPerAddress ?? DEFAULT_LOGIN_LIMITS.maxPerAddress,
      windowSeconds: options.loginWindowSeconds ?? DEFAULT_LOGIN_LIMITS.windowSeconds,
    },
    redis
      ? redisAttemptCounters(redis, options.redisPrefix, (call) => (breaker ? breaker.run(call) : call()))
      : undefined,
    (error) => reportAuth('login_throttle', error),
  );
  // Persisted operations: APQ registrations shared by every instance through Redis (in memory
  // without one); a failed read is a PersistedQueryNotFound (the client resends the query). The
  // registration budget per client address is counted where the login throttle counts.
  const persistedTtlSeconds = options.persistedQueriesTtlSeconds ?? 86_400;
  const persisted = createPersistedOperations({
    store:
      options.persistedQueries === false
        ? null
        : redis
          ? createRedisPersistedStore({
              redis,
              prefix: options.redisPrefix,
              ttlSeconds: persistedTtlSeconds,
              ...(breaker ? { run: <T>(call: () => Promise<T>) => breaker.run(call) } : {}),
            })
          : createMemoryPersistedStore({ ttlMs: persistedTtlSeconds * 1000 }),
    ...(options.trustedDocuments ? { trusted: options.trustedDocuments } : {}),
    trustedOnly: options.trustedDocumentsOnly ?? false,
    ...(options.persistedQueriesMaxBytes !== undefined ? { maxDocumentBytes: options.persistedQueriesMaxBytes } : {}),
    ...(options.persistedQueriesRegistrationsPerMinute !== undefined
      ? { registrationsPerMinute: options.persistedQueriesRegistrationsPerMinute }
      : {}),
    budgetCounters: redis
      ? redisAttemptCounters(redis, options.redisPrefix, (call) => (breaker ? breaker.run(call) : call()))
      : new MemoryAttemptCounters(),
    addressOf: (serverContext, request) => clientAddressOf(serverContext, request.headers, options.trustProxy ?? 0),
    onStoreError: (operation, error) => reportAuth(`persisted_${operation}`, error),
  });
  let responseStore: FailOpenStore | null = null;
  let responseCache: ResponseCache<AppContext> | null = null;
  // The edge (Varnish, or a purger given) in front: purged by tag after the response store, and once
  // more a moment later. Without one, answers tell surrogates not to keep them.
  const edgePurger =
    options.edgePurger ??
    (options.edgePurgeUrls?.length
      ? createVarnishPurger({ urls: options.edgePurgeUrls, timeoutMs: options.edgePurgeTimeoutMs ?? 1000 })
      : null);
  const edge: EdgePurge | null = edgePurger
    ? purgeTwice({
        purger: edgePurger,
        repurgeDelayMs: options.edgeRepurgeDelayMs ?? 2000,
        counters,
        report: (error, tags) =>
          logger.warn({ err: error instanceof Error ? error.message : String(error), tags }, 'edge purge failed'),
      })
    : null;
  // The in-process layers need a single Redis to stay coherent (cache/local/drop-channel.ts); with
  // memory stores the caches are in process already.
  const mb = (n: number | undefined, on: boolean) => (on ? (n ?? 0) * 1024 * 1024 : 0);
  const l1Bytes = {
    entity: mb(options.entityL1Mb, options.entityCache),
    response: mb(options.responseL1Mb, options.responseCache),
  };
  let dropDelivered: ((ms: number) => void) | null = null;
  const delivered = (ms: number, acknowledged: boolean) => {
    if (!acknowledged) counters.inc('l1_drop_unacknowledged');
    dropDelivered?.(ms);
  };
  const unsupported = redis && !isCluster(redis) ? dropChannelUnsupported(redis) : null;
  if (unsupported && (l1Bytes.entity > 0 || l1Bytes.response > 0))
    logger.warn(`ENTITY_L1_MB and RESPONSE_L1_MB cannot be kept coherent with ${unsupported}: no in-process layer`);
  const local =
    redis && !isCluster(redis) && !unsupported
      ? inProcessLayers(redis, options.redisPrefix, l1Bytes, report, delivered)
      : null;
  if (redis && isCluster(redis) && (l1Bytes.entity > 0 || l1Bytes.response > 0))
    logger.warn(
      'ENTITY_L1_MB and RESPONSE_L1_MB need a single Redis (REDIS_URL): no in-process layer on a Redis Cluster',
    );
  const entityLocal = local?.entity ?? null;
  const responseLocal = local?.response ?? null;
  if (options.responseCache) {
    const shared = redis
      ? createRedisResponseStore({
          redis,
          prefix: options.redisPrefix,
          // A fence means Redis lost evidence (eviction, flush) or a bucket's versions were full:
          // a bucket's entries became misses.
          onFence: (_bucket, reason) => counters.inc('response_fence', reason),
          onTouched: () => counters.inc('response_bucket_touched'),
          ...(options.responseMaxTagVersions !== undefined ? { maxVersions: options.responseMaxTagVersions } : {}),
        })
      : createMemoryResponseStore();
    // The layer goes inside failOpen: its announcements fail (and are counted) like the store's calls.
    const raw = responseLocal
      ? withLocalLayer(shared, { ...responseLocal, counters, trusted: () => !breaker || breaker.current === 'closed' })
      : shared;
    responseStore = failOpen(raw, report, counters, breaker ?? undefined);
    responseCache = createResponseCache<AppContext>({
      store: responseStore,
      counters,
      fieldTags: options.fieldTags ?? fieldTags,
      session: sessionOfContext,
      sessionOf: sessionOfHeader(tokens),
      debug: options.cacheDebug,
      graphqlPath: GRAPHQL_PATH,
      graceMs: (options.responseGraceSeconds ?? 30) * 1000,
      edgeMaxAgeMs: edge ? (options.edgeMaxAgeSeconds ?? 60) * 1000 : 0,
      persistedDocument: persisted.documentOf,
      ...(options.ttlScale !== undefined ? { ttlScale: options.ttlScale } : {}),
      ...(options.joinWaitMs !== undefined ? { joinWaitMs: options.joinWaitMs } : {}),
    });
  }
  const entityCache: EntityCache<Namespace> = options.entityCache
    ? createReadThroughCache<Namespace>({
        ...(entityLocal ? { local: entityLocal } : {}),
        storage: redis ? createRedisEntityStorage(redis) : createMemoryEntityStorage(),
        prefix: options.redisPrefix,
        ttlMs: entityTtlMs(options.entityTtlSeconds ?? {}),
        negativeTtlMs: (options.entityNegativeTtlSeconds ?? 30) * 1000,
        counters,
        report,
        ...(breaker ? { breaker } : {}),
      })
    : noEntityCache;
  const invalidator = createCacheInvalidator({
    edge,
    entityCache,
    responseStore,
    counters,
    logger,
    // Only shared caches need a durable record: an in-process cache cannot miss an invalidation.
    log: redis && options.database ? invalidationLogRepository(options.database.db) : null,
    onUndelivered: () => breaker?.trip(),
  });
  /** The change-log follower, once followChanges started it. */
  let changes: ChangeFollower | null = null;
  // Nothing recorded while this instance was away may be served: catch up before the first request.
  if (breaker) await breaker.start();
  // Subscribed before the first request, unless Redis is down (the token cache then stays degraded).
  if (breaker?.current === 'closed') await revocations?.ready;
  if (breaker?.current === 'closed') await local?.channel.ready();
  let stopFollowing = () => {};
  const where = redis ? `${isCluster(redis) ? 'redis cluster' : 'redis'} (prefix "${options.redisPrefix}")` : 'memory';
  const settled = async () => {
    await invalidator.settled();
    await responseCache?.settled();
  };
  return {
    entityLocal,
    responseLocal,
    counters,
    redis,
    responseStore,
    responseCache,
    entityCache,
    invalidator,
    admin: createCacheAdmin({ counters, redis, responseStore, entityCache, timeoutMs: options.redisTimeoutMs, edge }),
    tokens,
    loginThrottle,
    persisted,
    settled,
    breaker,
    onDropDelivered(listener) {
      dropDelivered = listener;
    },
    followInvalidations(intervalMs) {
      stopFollowing();
      stopFollowing = invalidator.follow(intervalMs);
    },
    async followChanges(follow = {}) {
      const database = options.database;
      if (!database || changes) return;
      const positionKey = `${options.redisPrefix}changes:position`;
      changes = createChangeFollower({
        log: changeLogRepository(database.db),
        invalidator,
        counters,
        logger,
        listen: (onNotify, onListen) => database.listen(CHANGE_CHANNEL, onNotify, onListen),
        // Shared caches keep their position beside them, so a restarted instance resumes from it.
        ...(redis
          ? {
              position: {
                load: () => redis.get(positionKey),
                save: async (value: string) => void (await redis.set(positionKey, value)),
              },
            }
          : {}),
        onUndelivered: () => breaker?.trip(),
        ...follow,
      });
      await changes.start();
    },
    description: `response cache: ${options.responseCache ? where : 'off'} · entity cache: ${options.entityCache ? where : 'off'}`,
    async close() {
      stopFollowing();
      await changes?.stop();
      revocations?.close();
      local?.channel.close();
      breaker?.close();
      await edge?.close();
      await settled();
      if (ownsRedis && redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}
