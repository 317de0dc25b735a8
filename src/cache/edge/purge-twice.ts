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
  /** Purges now (awaited, never rejects) and schedules the second purge. */
  purge(tags: readonly string[]): Promise<void>;
  /** The same for everything the edge keeps (an administrator's purge of everything). */
  purgeAll(): Promise<void>;
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
  const running = new Set<Promise<void>>();
  let closed = false;

  /** `tags` null: everything. */
  async function once(tags: readonly string[] | null, which: 'first' | 'repeat'): Promise<void> {
    try {
      await (tags ? purger.purge(tags) : purger.purgeAll());
      counters.inc('edge_purge', which);
    } catch (error) {
      counters.inc('edge_purge_failed', which);
      options.report(error, tags ?? ['(everything)']);
    }
  }
  function track(run: Promise<void>): Promise<void> {
    running.add(run);
    return run.finally(() => running.delete(run));
  }

  async function twice(tags: readonly string[] | null): Promise<void> {
    if (closed) return;
    await track(once(tags, 'first'));
    if (options.repurgeDelayMs <= 0 || closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      void track(once(tags, 'repeat'));
    }, options.repurgeDelayMs);
    timer.unref();
    timers.add(timer);
  }

  return {
    purge: async (tags) => {
      if (tags.length) await twice(tags);
    },
    purgeAll: () => twice(null),
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await Promise.all([...running]);
    },
  };
}
