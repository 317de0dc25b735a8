/** The durable record of cache invalidations not yet known to be delivered (see schema.ts). */
import { asc, eq, inArray, lt, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client.js';
import { cacheInvalidations } from '../schema.js';

export type LoggedInvalidation = { id: number; tags: string[]; entityKeys: string[] };

export function invalidationLogRepository(db: Db) {
  return {
    /** Inside the write's transaction: the invalidation commits (or not) with the write. */
    record: async (tx: Tx, tags: readonly string[], entityKeys: readonly string[]): Promise<number> =>
      (
        await tx
          .insert(cacheInvalidations)
          .values({ tags: [...tags], entityKeys: [...entityKeys] })
          .returning({ id: cacheInvalidations.id })
      )[0]!.id,
    /** Delivered: nobody needs to apply these again. */
    forget: async (ids: readonly number[]): Promise<void> => {
      if (ids.length) await db.delete(cacheInvalidations).where(inArray(cacheInvalidations.id, [...ids]));
    },
    /** Rows older than `olderThanMs` (their writer had time to deliver them), oldest first. */
    pending: (olderThanMs: number, limit: number): Promise<LoggedInvalidation[]> =>
      db
        .select({ id: cacheInvalidations.id, tags: cacheInvalidations.tags, entityKeys: cacheInvalidations.entityKeys })
        .from(cacheInvalidations)
        .where(lt(cacheInvalidations.createdAt, sql`now() - make_interval(secs => ${olderThanMs / 1000})`))
        .orderBy(asc(cacheInvalidations.id))
        .limit(limit),
    /** Whether a row is still waiting to be delivered. */
    isPending: async (id: number): Promise<boolean> =>
      (await db.select({ id: cacheInvalidations.id }).from(cacheInvalidations).where(eq(cacheInvalidations.id, id)))
        .length > 0,
  };
}

export type InvalidationLogRepository = ReturnType<typeof invalidationLogRepository>;
