/**
 * How every write runs: its work in one transaction, which also records the invalidation it causes;
 * constraint violations turned into client errors; the caches invalidated after commit (or a COMMIT
 * of unknown outcome) and before the mutation answers.
 */
import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../db/client.js';
import { isDatabaseUnavailable } from '../errors.js';
import type { Change, InvalidationReceipt, Invalidator } from '../domain/changes.js';
import { mapConstraintError, type ConstraintMessages } from './validation.js';

/** A write's work: what it answers and what it changed. */
export type Work<T> = (tx: Tx) => Promise<{ result: T; changes: Change[] }>;

export function createWriter(deps: { db: Db; invalidator: Invalidator }) {
  const { db, invalidator } = deps;
  /** Runs `work` in a transaction, then invalidates what it reports, then answers. */
  return async function write<T>(work: Work<T>, errors: ConstraintMessages = {}): Promise<T> {
    let outcome: { result: T; receipt: InvalidationReceipt };
    /** Set once the work is done and recorded: from then on only COMMIT can fail. */
    let recorded: InvalidationReceipt | undefined;
    try {
      outcome = await db.transaction(async (tx) => {
        // The change-capture triggers skip a transaction so marked: this write invalidates through its
        // own durable record below, before it answers (drizzle/0005_change_capture.sql).
        // Sent with the work's first statement, not a round trip before it (it has no parameters, so
        // postgres-js need not wait for a describe): on the transaction's one connection the statements
        // run in order. Should it fail, so does the work (the transaction aborted).
        const marked = tx.execute(sql`select set_config('kitvault.source', 'api', true)`).then(() => undefined);
        marked.catch(() => {}); // awaited below; not unhandled while the work runs
        const done = await work(tx);
        await marked;
        recorded = await invalidator.beforeCommit(tx, done.changes);
        return { result: done.result, receipt: recorded };
      });
    } catch (error) {
      // COMMIT failed. When its reply was lost (the link closed, the bound ran out: the database
      // unavailable, not an SQLSTATE, which means it rolled back) Postgres may have committed, or
      // may still: nobody here can tell. Drop what it may have changed before answering (what did
      // not change only costs misses); its durable record, if it commits, falls due a second later
      // and the followers apply it again, after any refill that read the old row.
      if (recorded && isDatabaseUnavailable(error)) await invalidator.afterUnknownCommit(recorded).catch(() => {});
      mapConstraintError(error, errors);
    }
    await invalidator.afterCommit(outcome.receipt);
    return outcome.result;
  };
}
