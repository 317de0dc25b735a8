/**
 * The change log: writes made outside the API, recorded by triggers (see schema.ts, cacheChanges, and
 * drizzle/0005_change_capture.sql). Followers read it by transaction id (`xid`), not by row id: see
 * src/invalidation/change-follower.ts for why.
 */
import { and, asc, gt, lt, sql } from 'drizzle-orm';
import type { Db } from '../client.js';
import { cacheChanges } from '../schema.js';

export type LoggedChange = {
  id: number;
  /** The writing transaction's id, as decimal text (xid8). */
  xid: string;
  tableName: string;
  rowId: number | null;
  before: unknown;
  after: unknown;
  coarse: boolean;
  /** How long ago (database clock) the row was written, when it was read. */
  ageMs: number;
};

const $ = sql.placeholder;

export function changeLogRepository(db: Db) {
  // Every instance polls these (src/invalidation/change-follower.ts): built once, prepared.
  const oldestRunning = db
    .select({ xmin: sql<string>`pg_snapshot_xmin(pg_current_snapshot())::text` })
    .from(sql`(select 1) as now`)
    .prepare('changes_horizon');
  const rowsSince = db
    .select({
      id: cacheChanges.id,
      xid: sql<string>`${cacheChanges.xid}::text`,
      tableName: cacheChanges.tableName,
      rowId: cacheChanges.rowId,
      before: cacheChanges.before,
      after: cacheChanges.after,
      coarse: cacheChanges.coarse,
      ageMs: sql<number>`(extract(epoch from clock_timestamp() - ${cacheChanges.createdAt}) * 1000)::float8`.mapWith(
        Number,
      ),
    })
    .from(cacheChanges)
    .where(and(sql`${cacheChanges.xid} >= ${$('horizon')}::xid8`, gt(cacheChanges.id, $('afterId'))))
    .orderBy(asc(cacheChanges.id))
    .limit($('limit'))
    .prepare('changes_since');
  return {
    /**
     * The oldest transaction still running (`xmin` of a fresh snapshot): every transaction below it
     * has committed or aborted, so every row it wrote is visible to any later statement.
     */
    horizon: async (): Promise<string> => (await oldestRunning.execute())[0]!.xmin,
    /** Rows written by transactions at or above `horizon`, after row `afterId`, in id order. */
    since: (horizon: string, afterId: number, limit: number): Promise<LoggedChange[]> =>
      rowsSince.execute({ horizon, afterId, limit }),
    /** Deletes rows older than the retention. */
    prune: async (retentionMs: number): Promise<void> => {
      await db
        .delete(cacheChanges)
        .where(lt(cacheChanges.createdAt, sql`now() - make_interval(secs => ${retentionMs / 1000})`));
    },
  };
}

export type ChangeLogRepository = ReturnType<typeof changeLogRepository>;
