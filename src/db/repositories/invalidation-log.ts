/** The durable record of cache invalidations not yet known to be delivered (see schema.ts). */
import { asc, eq, lte, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client.js';
import { cacheInvalidations } from '../schema.js';
import { prebuild, runIn } from './prebuilt.js';
import { anyOf, idList } from './table-operations.js';

export type LoggedInvalidation = { id: number; tags: string[]; entityKeys: string[] };

const $ = sql.placeholder;

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
  // Built once, run on each write's transaction (prebuilt.ts).
  const recorded = prebuild(
    db
      .insert(cacheInvalidations)
      .values({
        // Placeholders drizzle binds through the columns' mapping (arrays as Postgres arrays).
        tags: $('tags'),
        entityKeys: $('entityKeys'),
        dueAt: sql`clock_timestamp() + make_interval(secs => ${$('claimSeconds')})`,
      })
      .returning({ id: cacheInvalidations.id }),
    'invalidations_record',
    { id: cacheInvalidations.id },
  );
  return {
    /**
     * Inside the write's transaction: the invalidation commits (or not) with the write. Due to the
     * other instances `claimMs` after it is written (its writer delivers it meanwhile).
     */
    record: async (
      tx: Tx,
      tags: readonly string[],
      entityKeys: readonly string[],
      claimMs: number,
    ): Promise<number> => {
      const values = { tags: [...tags], entityKeys: [...entityKeys], claimSeconds: claimMs / 1000 };
      return (await runIn(tx, recorded, values))[0]!.id;
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
