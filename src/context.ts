/**
 * The per-request context: who is asking, fresh DataLoaders, and the services resolvers call.
 * Built once per request by yoga; nothing in it outlives the request except the shared services.
 */
import type { YogaInitialContext } from 'graphql-yoga';
import type { TokenCache } from './auth/token-cache.js';
import { createAuth, type Auth } from './auth/viewer.js';
import type { EntityCache } from './cache/entity/entity-cache.js';
import type { Namespace } from './domain/registry.js';
import { requestIdFrom } from './http/request-id.js';
import { createLoaders, type Loaders, type Repositories } from './loaders/index.js';
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
};

export function createContextFactory(deps: ContextDeps) {
  return ({ request }: YogaInitialContext): AppContext => {
    const loaders = createLoaders(deps.repos, deps.entityCache);
    return {
      requestId: requestIdFrom(request.headers.get('x-request-id')),
      startedAt: performance.now(),
      auth: createAuth(request.headers.get('authorization'), deps.repos.users, deps.tokens),
      loaders,
      reads: createCatalogueReads(deps.repos, loaders),
      services: deps.services,
    };
  };
}
