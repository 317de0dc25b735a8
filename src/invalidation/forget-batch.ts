/**
 * Deleting the records a writer delivered, off the mutation's path. A delivered record only tells
 * the other instances there is nothing left to apply; until it is deleted it stays claimed by its
 * writer (`claimMs`), and should the delete fail or come late, the followers apply it once more,
 * which is idempotent. So the mutation need not wait a round trip (and a pool connection, under
 * load the longest part of it) for the delete: records delivered meanwhile are deleted together, in
 * one statement, as soon as the one before is done; when they pile up behind a slow delete, a few
 * deletes run at once, so that a record is not left past its claim (every follower would apply it).
 */
import type { Logger } from '../observability/logger.js';

/** Ids per statement: a bound on the statement's size. */
const MAX_BATCH = 100;
/** Deletes at once at most, and how many ids waiting behind a running one start another. */
const MAX_IN_FLIGHT = 4;
const BACKLOG = 25;

export type ForgetBatch = {
  /** Delivered: delete it soon. */
  add(id: number): void;
  /** Resolves once every id added so far has been deleted or given up on (close, tests). */
  settled(): Promise<void>;
};

export function createForgetBatch(forget: (ids: readonly number[]) => Promise<void>, logger: Logger): ForgetBatch {
  let waiting: number[] = [];
  const running = new Set<Promise<void>>();

  async function drain(): Promise<void> {
    while (waiting.length) {
      const ids = waiting.slice(0, MAX_BATCH);
      waiting = waiting.slice(MAX_BATCH);
      try {
        await forget(ids);
      } catch (error) {
        // Left to the followers: the records fall due after their claim and are applied once more.
        logger.warn({ err: error, records: ids.length }, 'could not delete delivered invalidation records');
      }
    }
  }

  function start(): void {
    // From a microtask, so ids added synchronously with this one share its statement; the rest
    // gather while it runs and go in the next.
    const run: Promise<void> = Promise.resolve()
      .then(drain)
      .finally(() => {
        running.delete(run);
        if (waiting.length && running.size < MAX_IN_FLIGHT) start(); // added after the loop's last look
      });
    running.add(run);
  }

  return {
    add(id) {
      waiting.push(id);
      // One delete at a time while they keep up; more at once when records pile up behind a slow
      // one, so that none waits past its claim (then every follower would apply it again).
      if (!running.size || (waiting.length >= BACKLOG && running.size < MAX_IN_FLIGHT)) start();
    },
    async settled() {
      while (running.size) await Promise.all(running);
    },
  };
}
