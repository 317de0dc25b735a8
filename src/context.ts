/**
 * The per-request context: who is asking, fresh DataLoaders, and the services resolvers call.
 * Built once per request by yoga; nothing in it outlives the request except the shared services.
 */
import type { YogaInitialContext } from 'graphql-yoga';
import type { TokenCache } from './auth/token-cache.js';
import { createAuth, type Auth } from './auth/viewer.js';
import type { TokenLifetime } from './db/repositories/users.js';
import { clientAddressOf } from './http/client-address.js';
import type { EntityCache } from './cache/entity/entity-cache.js';
import type { Namespace } from './domain/registry.js';
import { requestIdFrom } from './http/request-id.js';
import { loaderFactory, type Loaders, type Repositories } from './loaders/index.js';
import { createCatalogueReads, type CatalogueReads } from './services/catalogue-reads.js';
import type { CacheAdminService } from './services/cache-admin.js';
import type { CatalogueService } from './services/catalogue.js';
import type { CollectionService } from './services/collection.js';
import type { SessionService } from './services/sessions.js';

export type Services = {
  catalogue: CatalogueService;
  collection: CollectionService;
  sessions: SessionService;
  cacheAdmin: CacheAdminService;
};

export type AppContext = {
  /** From `x-request-id` when a proxy set one, otherwise new; echoed in the response and logs. */
  requestId: string;
  startedAt: number;
  auth: Auth;
  loaders: Loaders;
  reads: CatalogueReads;
  services: Services;
};

export type Context = YogaInitialContext & AppContext;

export type ContextDeps = {
  repos: Repositories;
  entityCache: EntityCache<Namespace>;
  services: Services;
  tokens?: TokenCache;
  /** How long tokens live (default DEFAULT_TOKEN_LIFETIME). */
  tokenLifetime?: TokenLifetime;
  /** Proxies in front whose X-Forwarded-For is believed (default 0). */
  trustProxy?: number;
};

export function createContextFactory(deps: ContextDeps) {
  const loadersFor = loaderFactory(deps.repos, deps.entityCache);
  return (initial: YogaInitialContext): AppContext => {
    const { request } = initial;
    const loaders = loadersFor();
    const { services } = deps;
    return {
      requestId: requestIdFrom(request.headers.get('x-request-id')),
      startedAt: performance.now(),
      auth: createAuth(request.headers.get('authorization'), deps.repos.users, deps.tokens, deps.tokenLifetime),
      loaders,
      reads: createCatalogueReads(deps.repos),
      // Only sign-ins need the client's address (the login throttle counts by it): looked up when asked for.
      services: {
        ...services,
        get sessions() {
          return services.sessions.forClient(clientAddressOf(initial, request.headers, deps.trustProxy));
        },
      },
    };
  };
}
