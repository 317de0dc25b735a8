/** The durable record of cache invalidations not yet known to be delivered (see schema.ts). */
import { asc, eq, inArray, lte, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client.js';
import { cacheInvalidations } from '../schema.js';

export type LoggedInvalidation = { id: number; tags: string[]; entityKeys: string[] };

export function invalidationLogRepository(db: Db) {
  return {
    /**
     * Inside the write's transaction: the invalidation commits (or not) with the write. Due to the
     * other instances `claimMs` after it is written (its writer delivers it meanwhile).
     */
    record: async (tx: Tx, tags: readonly string[], entityKeys: readonly string[], claimMs: number): Promise<number> =>
      (
        await tx
          .insert(cacheInvalidations)
          .values({
            tags: [...tags],
            entityKeys: [...entityKeys],
            dueAt: sql`clock_timestamp() + make_interval(secs => ${claimMs / 1000})`,
          })
          .returning({ id: cacheInvalidations.id })
      )[0]!.id,
    /** Its writer could not deliver it: due to the other instances now. */
    release: async (id: number): Promise<void> => {
      await db
        .update(cacheInvalidations)
        .set({ dueAt: sql`now()` })
        .where(eq(cacheInvalidations.id, id));
    },
    /** Delivered: nobody needs to apply these again. */
    forget: async (ids: readonly number[]): Promise<void> => {
      if (ids.length) await db.delete(cacheInvalidations).where(inArray(cacheInvalidations.id, [...ids]));
    },
    /** Rows due to the other instances (their writer had its time, or gave up), oldest first. */
    due: (limit: number): Promise<LoggedInvalidation[]> =>
      db
        .select({ id: cacheInvalidations.id, tags: cacheInvalidations.tags, entityKeys: cacheInvalidations.entityKeys })
        .from(cacheInvalidations)
        .where(lte(cacheInvalidations.dueAt, sql`now()`))
        .orderBy(asc(cacheInvalidations.id))
        .limit(limit),
    /** Every row not yet delivered, due or not, oldest first (a recovery applies them all). */
    pending: (limit: number): Promise<LoggedInvalidation[]> =>
      db
        .select({ id: cacheInvalidations.id, tags: cacheInvalidations.tags, entityKeys: cacheInvalidations.entityKeys })
        .from(cacheInvalidations)
        .orderBy(asc(cacheInvalidations.id))
        .limit(limit),
    /** Whether a row is still waiting to be delivered. */
    isPending: async (id: number): Promise<boolean> =>
      (await db.select({ id: cacheInvalidations.id }).from(cacheInvalidations).where(eq(cacheInvalidations.id, id)))
        .length > 0,
  };
}

export type InvalidationLogRepository = ReturnType<typeof invalidationLogRepository>;
