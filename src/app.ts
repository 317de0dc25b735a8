/**
 * createApp(deps) → a yoga instance: schema, per-request context, error masking, limits and the
 * cache plugins. Tests call `app.fetch`; main.ts mounts it on node:http.
 */
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { compiledExecution } from './http/compiled-execution.js';
import type { GraphQLSchema } from 'graphql';
import { createYoga, type Plugin, type YogaServerInstance } from 'graphql-yoga';
import type { RedisClient } from './cache/redis/client.js';
import type { LoginThrottle } from './auth/login-throttle.js';
import type { TokenCache } from './auth/token-cache.js';
import { noCacheAdmin, type CacheAdmin } from './cache/admin.js';
import { CacheCounters } from './cache/counters.js';
import type { ResponseCache, ResponseCacheServerContext } from './cache/response/index.js';
import type { EntityCache } from './cache/entity/entity-cache.js';
import type { Namespace } from './domain/registry.js';
import { createContextFactory, type AppContext, type Services } from './context.js';
import type { Database } from './db/client.js';
import type { TokenLifetime } from './db/repositories/users.js';
import { catalogueRepository } from './db/repositories/catalogue.js';
import { userRepository } from './db/repositories/users.js';
import { graphiqlRenderer } from './http/graphiql.js';
import { createMaskError, limitRejection } from './http/mask-error.js';
import { createReadiness, operationsPlugin, type MetricsAccess } from './http/operations.js';
import { requestIdFrom } from './http/request-id.js';
import { requestParamsPlugin } from './http/request-params.js';
import { retryAfterPlugin } from './http/retry-after.js';
import type { Repositories } from './loaders/index.js';
import { yogaLogging, type Logger } from './observability/logger.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import { requestLogPlugin } from './observability/request-log.js';
import type { PersistedOperations } from './persisted/index.js';
import { buildSchema } from './schema.js';
import { createCacheAdminService } from './services/cache-admin.js';
import { createCatalogueService } from './services/catalogue.js';
import type { Invalidator } from './domain/changes.js';
import { createCollectionService } from './services/collection.js';
import { createSessionService } from './services/sessions.js';

/** Where GraphQL is served (and the only path the response cache's lean hit answers on). */
export const GRAPHQL_PATH = '/graphql';

export const DEFAULT_QUERY = /* GraphQL */ `
  # Welcome to Kitvault. Press the play button to run this query.
  # To sign in, run the login mutation with one of the seeded logins
  # (see "Seeded logins" in the README) and send the token as the
  # header  Authorization: Bearer <token>
  query LatestKits {
    kits(first: 5) {
      totalCount
      edges {
        cursor
        node {
          id
          name
          type
          primaryColour
          club {
            id
            name
            country
          }
          season {
            label
          }
          brand {
            name
          }
          competitions {
            name
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

/** What GraphiQL is given (src/http/graphiql.ts renders the page from it). */
export const GRAPHIQL_OPTIONS = { title: 'Kitvault', defaultQuery: DEFAULT_QUERY };

export type AppDeps = {
  database: Database;
  logger: Logger;
  entityCache: EntityCache<Namespace>;
  invalidator: Invalidator;
  /** Statistics and purges behind the ADMIN cache fields. */
  cacheAdmin?: CacheAdmin;
  /** Cache counters, exported at /metrics. */
  counters?: CacheCounters;
  /** The Redis the caches use, pinged by /ready. */
  redis?: RedisClient | null;
  redisTimeoutMs?: number;
  /** Verified tokens, shared with the HTTP fast path. */
  tokens?: TokenCache;
  /** The response cache, whose plugins run after the built-in ones (limits) and before the request log. */
  responseCache?: ResponseCache<AppContext> | null;
  /** Token lifetime and idle timeout (default 30 days / 7 days). */
  tokenLifetime?: TokenLifetime;
  /** Failed sign-ins per username and address (default: in memory, 10 / 50 per 5 minutes). */
  loginThrottle?: LoginThrottle;
  /** Proxies in front whose X-Forwarded-For is believed (default 0: the socket's address). */
  trustProxy?: number;
  /** APQ and trusted documents: resolves a request's hash to its document before yoga reads the query. */
  persisted?: Pick<PersistedOperations, 'plugin'> | null;
  /** Extra envelop plugins (the benchmark's stock cache), applied after the response cache's. */
  plugins?: Plugin<AppContext>[];
  graphiql?: boolean;
  /** Compiled execution of queries and mutations (graphql-jit; src/http/compiled-execution.ts). Default on. */
  compiledExecution?: boolean;
  /** /metrics: which operation names label the duration histogram (a bounded set), and who may read it. */
  metrics?: { operationNames?: readonly string[]; maxOperations?: number } & MetricsAccess;
};

export type App = YogaServerInstance<ResponseCacheServerContext, AppContext> & {
  schema: GraphQLSchema;
  repos: Repositories;
  metrics: Metrics;
  logger: Logger;
};

let sharedSchema: GraphQLSchema | undefined;

export function createApp(deps: AppDeps): App {
  const { database, logger, entityCache, invalidator } = deps;
  const repos: Repositories = { catalogue: catalogueRepository(database.db), users: userRepository(database.db) };
  const services: Services = {
    catalogue: createCatalogueService({ db: database.db, catalogue: repos.catalogue, invalidator }),
    collection: createCollectionService({
      db: database.db,
      users: repos.users,
      catalogue: repos.catalogue,
      invalidator,
    }),
    sessions: createSessionService({
      users: repos.users,
      ...(deps.tokens ? { tokens: deps.tokens } : {}),
      ...(deps.loginThrottle ? { throttle: deps.loginThrottle } : {}),
      ...(deps.tokenLifetime ? { lifetime: deps.tokenLifetime } : {}),
    }),
    cacheAdmin: createCacheAdminService(deps.cacheAdmin ?? noCacheAdmin),
  };
  // Costly to build and never modified (a response cache tags fields in a copy of its own): shared
  // between apps in one process (tests build many).
  sharedSchema ??= buildSchema();
  const schema = sharedSchema;
  const metrics = createMetrics({
    counters: deps.counters ?? new CacheCounters(),
    sql: database.sql,
    operations: { names: deps.metrics?.operationNames, max: deps.metrics?.maxOperations },
  });
  const readiness = createReadiness({
    pingDatabase: () => database.ping(),
    redis: deps.redis ?? null,
    timeoutMs: deps.redisTimeoutMs ?? 1000,
    onFailure: (part, error) => logger.warn({ err: error, part }, `readiness: ${part} failing`),
  });

  const yoga = createYoga<ResponseCacheServerContext, AppContext>({
    schema,
    context: createContextFactory({
      repos,
      entityCache,
      services,
      ...(deps.tokens ? { tokens: deps.tokens } : {}),
      ...(deps.tokenLifetime ? { tokenLifetime: deps.tokenLifetime } : {}),
      ...(deps.trustProxy ? { trustProxy: deps.trustProxy } : {}),
    }),
    graphqlEndpoint: GRAPHQL_PATH,
    // The front door reads every body yoga gets, whole and bounded (src/http/front-door.ts); yoga's
    // own limit would pipe each one through a byte-counting stream again.
    maxRequestBodySize: false,
    landingPage: false,
    graphiql: deps.graphiql === false ? false : GRAPHIQL_OPTIONS,
    renderGraphiQL: graphiqlRenderer(),
    maskedErrors: { maskError: createMaskError(logger) },
    logging: yogaLogging(logger),
    plugins: [
      requestParamsPlugin(),
      ...(deps.persisted ? [deps.persisted.plugin] : []),
      operationsPlugin(metrics, readiness, { token: deps.metrics?.token, ownListener: deps.metrics?.ownListener }),
      retryAfterPlugin(),
      // Each limit refuses with its own code and HTTP 400 (limitRejection, src/http/mask-error.ts).
      EnvelopArmorPlugin({
        maxDepth: { n: 12, ...limitRejection('maxDepth') },
        maxAliases: { n: 30, ...limitRejection('maxAliases') },
        maxDirectives: { n: 30, ...limitRejection('maxDirectives') },
        maxTokens: { n: 2000, ...limitRejection('maxTokens') },
        costLimit: { maxCost: 20_000, ...limitRejection('costLimit') },
      }),
      ...(deps.compiledExecution === false ? [] : [compiledExecution()]),
      ...(deps.responseCache?.plugins ?? []),
      ...(deps.plugins ?? []),
      requestLogPlugin(
        logger,
        metrics,
        (context) => deps.responseCache?.outcomeOf(context) ?? 'none',
        (request) => requestIdFrom(request.headers.get('x-request-id')),
      ),
    ],
  });
  return Object.assign(yoga, { schema, repos, metrics, logger });
}
