/**
 * Wraps a store so that it never fails a request: a lookup error is a miss, a write error is a
 * skipped write, an invalidation error is counted and reported to the caller (the mutation still
 * answers; the caller makes the invalidation durable elsewhere). With a circuit breaker, a store
 * that failed is not asked again until the breaker's probe says it is back: an outage costs one
 * timeout per probe interval, not one per command.
 */
import type { CacheCounters } from '../counters.js';
import { CircuitOpenError, type CircuitBreaker } from '../redis/circuit-breaker.js';
import type { RedisErrorReporter } from '../redis/error-reporter.js';
import type { ResponseStore } from './store.js';

/** A lookup that failed cannot vouch for a later write. */
const UNAVAILABLE = 'unavailable';

/** A store that never throws (but `clear`); `tryInvalidate` answers whether the invalidation reached the store. */
export type FailOpenStore = ResponseStore & {
  tryInvalidate(tags: readonly string[]): Promise<boolean>;
};

export function failOpen(
  store: ResponseStore,
  report: RedisErrorReporter,
  counters: CacheCounters,
  breaker?: CircuitBreaker,
): FailOpenStore {
  const run = <T>(call: () => Promise<T>, kind: 'command' | 'invalidation' = 'command') =>
    breaker ? breaker.run(call, kind) : call();
  /** Short-circuited calls are counted, not reported: the failure that opened the breaker was. */
  const failed = (where: string, error: unknown) => {
    if (error instanceof CircuitOpenError) counters.inc('redis_short_circuit', where);
    else report(where, error);
  };
  async function tryInvalidate(tags: readonly string[]): Promise<boolean> {
    try {
      await run(() => store.invalidate(tags), 'invalidation');
      return true;
    } catch (error) {
      counters.inc('response_invalidation_failed');
      failed('response.invalidate', error);
      return false;
    }
  }
  return {
    async lookup(key, forLayer, leaseMs) {
      try {
        return await run(() => store.lookup(key, forLayer, leaseMs));
      } catch (error) {
        failed('response.lookup', error);
        // Nobody to coordinate with (as `lease` answers below), and no second call to fail.
        return leaseMs
          ? { value: null, generation: UNAVAILABLE, lease: 'acquired' }
          : { value: null, generation: UNAVAILABLE };
      }
    },
    // Memory only: nothing to fail (and the layer is bypassed while the breaker is not closed).
    ...(store.peek ? { peek: store.peek } : {}),
    async lease(key, ms) {
      try {
        return await run(() => store.lease(key, ms));
      } catch (error) {
        failed('response.lease', error);
        return 'acquired'; // nobody to coordinate with: behave as a single server
      }
    },
    async release(key) {
      try {
        await run(() => store.release(key));
      } catch (error) {
        failed('response.release', error); // it lapses by itself (LEASE_MS)
      }
    },
    async store(key, value, tags, ttlMs, generation) {
      if (generation === UNAVAILABLE) return 'failed';
      try {
        return await run(() => store.store(key, value, tags, ttlMs, generation));
      } catch (error) {
        failed('response.store', error);
        return 'failed';
      }
    },
    tryInvalidate,
    async invalidate(tags) {
      await tryInvalidate(tags);
    },
    stats: () => store.stats(),
    async clear() {
      try {
        await run(() => store.clear(), 'invalidation');
      } catch (error) {
        counters.inc('response_invalidation_failed');
        failed('response.clear', error);
        throw error;
      }
    },
  };
}
