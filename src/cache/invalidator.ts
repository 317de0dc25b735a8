/**
 * Runs after a write commits and before the mutation answers: turns the domain changes into entity
 * keys and response tags (invalidation.ts) and drops them from both levels, for every server that
 * shares the store. Entity keys go first, so a response recomputed after its tags drop cannot read
 * an old row from the entity level.
 */
import type { Logger } from '../observability/logger.js';
import type { Change, Invalidator } from '../services/changes.js';
import type { CacheCounters } from './counters.js';
import type { EntityCache } from './entity/entity-cache.js';
import { invalidationForAll } from './invalidation.js';
import type { ResponseStore } from './response/store.js';

export function createCacheInvalidator(deps: {
  entityCache: EntityCache;
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
