/**
 * Runs after a write commits and before the mutation answers: turns the domain changes into entity
 * keys and response tags (table.ts) and drops them from both levels, for every server that
 * shares the store. Entity keys go first, so a response recomputed after its tags drop cannot read
 * an old row from the entity level.
 */
import type { CacheCounters } from '../cache/counters.js';
import type { EntityCache } from '../cache/entity/entity-cache.js';
import type { ResponseStore } from '../cache/response/index.js';
import type { Change, Invalidator } from '../domain/changes.js';
import type { Namespace } from '../domain/registry.js';
import type { Logger } from '../observability/logger.js';
import { invalidationForAll } from './table.js';

export function createCacheInvalidator(deps: {
  entityCache: EntityCache<Namespace>;
  responseStore: ResponseStore | null;
  counters: CacheCounters;
  logger: Logger;
}): Invalidator {
  return {
    async afterCommit(changes: readonly Change[]) {
      const { tags, keys } = invalidationForAll(changes);
      await deps.entityCache.invalidate(keys);
      if (deps.responseStore && tags.length) {
        await deps.responseStore.invalidate(tags);
        for (const tag of tags) deps.counters.inc('response_invalidation', tag.split(/[:.]/)[0]);
        deps.logger.debug({ tags }, 'response cache invalidated');
      }
    },
  };
}
