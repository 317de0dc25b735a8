/**
 * Deleting the records a writer delivered, off the mutation's path. A delivered record only tells
 * the other instances there is nothing left to apply; until it is deleted it stays claimed by its
 * writer (`claimMs`), and should the delete fail or come late, the followers apply it once more,
 * which is idempotent. So the mutation need not wait a round trip (and a pool connection, under
 * load the longest part of it) for the delete: records delivered meanwhile are deleted together, in
 * one statement, as soon as the one before is done.
 */
import type { Logger } from '../observability/logger.js';

/** Ids per statement: a bound on the statement's size (and on the prepared statements it makes). */
const MAX_BATCH = 100;

export type ForgetBatch = {
  /** Delivered: delete it soon. */
  add(id: number): void;
  /** Resolves once every id added so far has been deleted or given up on (close, tests). */
  settled(): Promise<void>;
};

export function createForgetBatch(forget: (ids: readonly number[]) => Promise<void>, logger: Logger): ForgetBatch {
  let waiting: number[] = [];
  let running: Promise<void> | null = null;

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
    // From a microtask, so ids added by writes answering in the same tick share the statement.
    running = Promise.resolve()
      .then(drain)
      .finally(() => {
        running = null;
        if (waiting.length) start(); // added after the loop's last look
      });
  }

  return {
    add(id) {
      waiting.push(id);
      if (!running) start();
    },
    async settled() {
      while (running) await running;
    },
  };
}
