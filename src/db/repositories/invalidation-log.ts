/** The durable record of cache invalidations not yet known to be delivered (see schema.ts). */
import { asc, eq, lte, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client.js';
import { cacheInvalidations } from '../schema.js';
import { column, prebuildSql, runIn } from './prebuilt.js';
import { anyOf, idList } from './table-operations.js';

export type LoggedInvalidation = { id: number; tags: string[]; entityKeys: string[] };

/** A write's record ran outside its transaction (see `recorded` below): the write did not commit. */
export class RecordOutsideTransactionError extends Error {
  override name = 'RecordOutsideTransactionError';
  constructor() {
    super('the invalidation record ran outside its transaction: the write was rolled back');
  }
}

const $ = sql.placeholder;

/**
 * Marks a write's transaction as the API's own: the change-capture triggers skip it
 * (drizzle/0005_change_capture.sql), and a record is written only in a transaction so marked.
 */
export const markApiWrite = (tx: Tx): Promise<unknown> =>
  tx.execute(sql`select set_config('kitvault.source', 'api', true)`);

export function invalidationLogRepository(db: Db) {
  // Every instance polls these (src/invalidation/invalidator.ts, follow): built once, prepared.
  const logged = {
    id: cacheInvalidations.id,
    tags: cacheInvalidations.tags,
    entityKeys: cacheInvalidations.entityKeys,
  };
  const released = db
    .update(cacheInvalidations)
    .set({ dueAt: sql`now()` })
    .where(eq(cacheInvalidations.id, $('id')))
    .prepare('invalidations_release');
  const forgotten = db
    .delete(cacheInvalidations)
    .where(anyOf(cacheInvalidations.id, 'bigint'))
    .prepare('invalidations_forget');
  const dueRows = db
    .select(logged)
    .from(cacheInvalidations)
    .where(lte(cacheInvalidations.dueAt, sql`now()`))
    .orderBy(asc(cacheInvalidations.id))
    .limit($('limit'))
    .prepare('invalidations_due');
  const pendingRows = db
    .select(logged)
    .from(cacheInvalidations)
    .orderBy(asc(cacheInvalidations.id))
    .limit($('limit'))
    .prepare('invalidations_pending');
  const stillThere = db
    .select({ id: cacheInvalidations.id })
    .from(cacheInvalidations)
    .where(eq(cacheInvalidations.id, $('id')))
    .prepare('invalidations_is_pending');
  // Built once, run on each write's transaction (prebuilt.ts). Written only where the writer marked
  // its transaction (src/services/write.ts): the writer sends COMMIT right behind this without
  // waiting, and postgres-js sends again a prepared statement that failed with some plan-cache
  // errors (FetchPreparedStatement, RevalidateCachedQuery), after what it has sent by then. So a
  // retry runs after COMMIT's rollback, outside the transaction, where it must write nothing and
  // say so (no row back), not report the write's record as made.
  const recorded = prebuildSql<{ id: number }[]>(
    sql`insert into ${cacheInvalidations} (${column(cacheInvalidations.tags)}, ${column(cacheInvalidations.entityKeys)}, ${column(cacheInvalidations.dueAt)})
      select ${sql.param($('tags'), cacheInvalidations.tags)}::text[], ${sql.param($('entityKeys'), cacheInvalidations.entityKeys)}::text[],
        clock_timestamp() + make_interval(secs => ${$('claimSeconds')})
      where current_setting('kitvault.source', true) = 'api'
      returning ${column(cacheInvalidations.id)}`,
    'invalidations_record',
    { id: cacheInvalidations.id },
  );
  return {
    /**
     * Inside the write's transaction: the invalidation commits (or not) with the write. Due to the
     * other instances `claimMs` after it is written (its writer delivers it meanwhile). Not async:
     * its statement is made before it returns (the writer sends COMMIT right behind it). Rejects
     * when the statement wrote nothing: it ran outside the transaction, which did not commit.
     */
    record: (tx: Tx, tags: readonly string[], entityKeys: readonly string[], claimMs: number): Promise<number> => {
      const values = { tags: [...tags], entityKeys: [...entityKeys], claimSeconds: claimMs / 1000 };
      return runIn(tx, recorded, values).then((rows) => {
        if (rows[0] === undefined) throw new RecordOutsideTransactionError();
        return rows[0].id;
      });
    },
    /** Its writer could not deliver it: due to the other instances now. */
    release: async (id: number): Promise<void> => {
      await released.execute({ id });
    },
    /** Delivered: nobody needs to apply these again. */
    forget: async (ids: readonly number[]): Promise<void> => {
      if (ids.length) await forgotten.execute({ ids: idList(ids) });
    },
    /** Rows due to the other instances (their writer had its time, or gave up), oldest first. */
    due: (limit: number): Promise<LoggedInvalidation[]> => dueRows.execute({ limit }),
    /** Every row not yet delivered, due or not, oldest first (a recovery applies them all). */
    pending: (limit: number): Promise<LoggedInvalidation[]> => pendingRows.execute({ limit }),
    /** Whether a row is still waiting to be delivered. */
    isPending: async (id: number): Promise<boolean> => (await stillThere.execute({ id })).length > 0,
  };
}

export type InvalidationLogRepository = ReturnType<typeof invalidationLogRepository>;
