/**
 * Wraps a store so that it never fails a request: a lookup error is a miss, a write error is a
 * skipped write, an invalidation error is counted and logged (the mutation still answers; entries it
 * should have dropped live until their TTL, which is why every entry has a short one).
 */
import type { CacheCounters } from '../counters.js';
import type { RedisErrorReporter } from '../redis/error-reporter.js';
import type { ResponseStore } from './store.js';

/** A lookup that failed cannot vouch for a later write. */
const UNAVAILABLE = 'unavailable';

export function failOpen(store: ResponseStore, report: RedisErrorReporter, counters: CacheCounters): ResponseStore {
  return {
    async lookup(key) {
      try {
        return await store.lookup(key);
      } catch (error) {
        report('response.lookup', error);
        return { value: null, generation: UNAVAILABLE };
      }
    },
    async lease(key, ms) {
      try {
        return await store.lease(key, ms);
      } catch (error) {
        report('response.lease', error);
        return 'acquired'; // nobody to coordinate with: behave as a single server
      }
    },
    async store(key, value, tags, ttlMs, generation) {
      if (generation === UNAVAILABLE) return 'failed';
      try {
        return await store.store(key, value, tags, ttlMs, generation);
      } catch (error) {
        report('response.store', error);
        return 'failed';
      }
    },
    async invalidate(tags) {
      try {
        await store.invalidate(tags);
      } catch (error) {
        counters.inc('response_invalidation_failed');
        report('response.invalidate', error);
      }
    },
    stats: () => store.stats(),
    async clear() {
      try {
        await store.clear();
      } catch (error) {
        counters.inc('response_invalidation_failed');
        report('response.clear', error);
        throw error;
      }
    },
  };
}
