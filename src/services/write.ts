/**
 * How every write runs: its work in one transaction, which also records the invalidation it causes
 * (that record sent with COMMIT); constraint violations turned into client errors; the caches
 * invalidated after commit (or a COMMIT of unknown outcome) and before the mutation answers.
 */
import type { Db, Tx } from '../db/client.js';
import { markApiWrite } from '../db/repositories/invalidation-log.js';
import { answeredByServer, isDatabaseUnavailable } from '../errors.js';
import type { Change, InvalidationReceipt, Invalidator } from '../domain/changes.js';
import { mapConstraintError, type ConstraintMessages } from './validation.js';

/** A write's work: what it answers and what it changed. */
export type Work<T> = (tx: Tx) => Promise<{ result: T; changes: Change[] }>;

export function createWriter(deps: { db: Db; invalidator: Invalidator }) {
  const { db, invalidator } = deps;
  /** Runs `work` in a transaction, then invalidates what it reports, then answers. */
  return async function write<T>(work: Work<T>, errors: ConstraintMessages = {}): Promise<T> {
    let committed: { result: T; receipt: InvalidationReceipt };
    /** Set once the work is done and its record made: from then on only the record and COMMIT can fail. */
    let changes: readonly Change[] | undefined;
    try {
      const done = await db.transaction(async (tx) => {
        // The change-capture triggers skip a transaction so marked: this write invalidates through its
        // own durable record below, before it answers (drizzle/0005_change_capture.sql). The record
        // is written only in a transaction so marked (src/db/repositories/invalidation-log.ts).
        // Sent with the work's first statement, not a round trip before it (it has no parameters, so
        // postgres-js need not wait for a describe): on the transaction's one connection the statements
        // run in order. Should it fail, so does the work (the transaction aborted).
        const marked = markApiWrite(tx).then(() => undefined);
        marked.catch(() => {}); // awaited below; not unhandled while the work runs
        const { result, changes: made } = await work(tx);
        await marked;
        // The record is the transaction's last statement and is not waited for here: it goes out
        // with COMMIT and is answered with it, one round trip for both (src/db/bounded.ts sees that
        // it is sent first). beforeCommit refuses by throwing, here, before COMMIT. Should the
        // record fail, Postgres has aborted the transaction and answers that COMMIT with a
        // rollback, which postgres-js does not report: the record's failure, awaited after, does.
        const { recorded } = invalidator.beforeCommit(tx, made);
        changes = made;
        recorded.catch(() => {}); // awaited once COMMIT has answered
        return { result, recorded };
      });
      committed = { result: done.result, receipt: await done.recorded };
    } catch (error) {
      // The work was done and its record sent, but the answer was not the server's own refusal of
      // a statement (which means the transaction rolled back): the link closed, the bound ran out,
      // the server went away, the driver failed. Postgres may have committed, or may still: nobody
      // here can tell. Drop what it may have changed before answering (what did not change only
      // costs misses); its durable record, if it commits, falls due a second later and the
      // followers apply it again, after any refill that read the old row.
      if (changes && (isDatabaseUnavailable(error) || !answeredByServer(error)))
        await invalidator.afterUnknownCommit({ changes, recordId: null }).catch(() => {});
      mapConstraintError(error, errors);
    }
    await invalidator.afterCommit(committed.receipt);
    return committed.result;
  };
}
