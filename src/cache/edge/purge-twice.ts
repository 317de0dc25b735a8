/**
 * Purging the edge the way invalidation needs it: once now (the caller has already dropped the tags
 * from the shared store, so an edge refetch cannot find the old answer there), and once more after a
 * short delay, for an edge fetch that left the origin before the store was invalidated and landed
 * at the edge after the first purge. A failed purge is counted and reported, never thrown: the
 * write it follows has committed. `close` cancels the delayed purges and waits for those running.
 */
import type { CacheCounters } from '../counters.js';
import type { EdgePurger } from './purger.js';

export type EdgePurge = {
  /**
   * Purges now (awaited, never rejects) and schedules the second purge; answers whether the edge
   * confirmed the first (false after close: the caller keeps what it could not deliver).
   */
  purge(tags: readonly string[]): Promise<boolean>;
  /** The same for everything the edge keeps (an administrator's purge of everything). */
  purgeAll(): Promise<boolean>;
  close(): Promise<void>;
};

export type PurgeTwiceOptions = {
  purger: EdgePurger;
  /** Delay of the second purge; 0: no second purge. */
  repurgeDelayMs: number;
  counters: CacheCounters;
  /** Told of every failed purge (for the log); must not throw. */
  report(error: unknown, tags: readonly string[]): void;
};

export function purgeTwice(options: PurgeTwiceOptions): EdgePurge {
  const { purger, counters } = options;
  const timers = new Set<NodeJS.Timeout>();
  const running = new Set<Promise<unknown>>();
  let closed = false;

  /** `tags` null: everything. */
  async function once(tags: readonly string[] | null, which: 'first' | 'repeat'): Promise<boolean> {
    try {
      await (tags ? purger.purge(tags) : purger.purgeAll());
      counters.inc('edge_purge', which);
      return true;
    } catch (error) {
      counters.inc('edge_purge_failed', which);
      options.report(error, tags ?? ['(everything)']);
      return false;
    }
  }
  function track<T>(run: Promise<T>): Promise<T> {
    running.add(run);
    return run.finally(() => running.delete(run));
  }

  async function twice(tags: readonly string[] | null): Promise<boolean> {
    if (closed) return false;
    const confirmed = await track(once(tags, 'first'));
    if (options.repurgeDelayMs <= 0 || closed) return confirmed;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void track(once(tags, 'repeat'));
    }, options.repurgeDelayMs);
    timer.unref();
    timers.add(timer);
    return confirmed;
  }

  return {
    purge: async (tags) => (tags.length ? twice(tags) : true),
    purgeAll: () => twice(null),
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...running]);
    },
  };
}
