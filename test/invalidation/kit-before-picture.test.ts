/**
 * A kit write invalidates by its "before" picture (row and competition ids). When the write waits
 * for the kit's lock, the picture must be the one the last writer left: else the competitions that
 * writer added or removed are never invalidated. Staged on real Postgres with a second connection
 * that holds the lock while it changes the kit's competitions.
 */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Viewer } from '../../src/auth/viewer.js';
import { catalogueRepository } from '../../src/db/repositories/catalogue.js';
import { noInvalidation, type Change, type Invalidator } from '../../src/domain/changes.js';
import { createCatalogueService } from '../../src/services/catalogue.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

const noPostgres = inject('pgTemplate') ? false : inject('pgAbsentReason');
const admin: Viewer = { id: 1, username: 'admin', role: 'ADMIN', tokenHash: 'test' };
const KIT = 11;

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const competitionsOf = (change: Change | undefined) =>
  change?.entity === 'Kit' ? [...(change.before?.competitionIds ?? [])].sort((a, b) => a - b) : null;

describe.skipIf(noPostgres)('a kit write that waits for the kit’s lock', () => {
  it('takes its before picture after the lock: the competitions the previous writer left', async () => {
    await database.db.execute(sql`delete from kit_competitions where kit_id = ${KIT}`);
    await database.db.execute(
      sql`insert into kit_competitions (kit_id, competition_id) values (${KIT}, 1), (${KIT}, 2)`,
    );
    const recorded: Change[] = [];
    const invalidator: Invalidator = {
      ...noInvalidation,
      beforeCommit: async (tx, changes) => {
        recorded.push(...changes);
        return noInvalidation.beforeCommit(tx, changes);
      },
    };
    const service = createCatalogueService({
      db: database.db,
      catalogue: catalogueRepository(database.db),
      invalidator,
    });

    const other = postgres(database.url!, { max: 2, onnotice: () => {} });
    try {
      const reserved = await other.reserve();
      await reserved`begin`;
      // The other writer locks the kit and moves it from competitions 1 and 2 to 3.
      await reserved`update kits set name = name where id = ${KIT}`;
      await reserved`delete from kit_competitions where kit_id = ${KIT}`;
      await reserved`insert into kit_competitions (kit_id, competition_id) values (${KIT}, 3)`;

      const renamed = service.updateKit(admin, KIT, {}, { name: 'Renamed while locked' });
      // Until the rename waits for the lock.
      for (let i = 0; ; i++) {
        const [row] = await other<{ n: number }[]>`
          select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`;
        if (row!.n > 0) break;
        if (i > 200) throw new Error('the rename never waited for the lock');
        await new Promise((r) => setTimeout(r, 10));
      }
      await reserved`commit`;
      reserved.release();
      await renamed;
    } finally {
      await other.end({ timeout: 5 });
    }
    expect(competitionsOf(recorded[0])).toEqual([3]);
  });
});
