/**
 * A kit write invalidates by its "before" picture (row and competition ids). When the write waits
 * for the kit's lock, the picture must be the one the last writer left: else the competitions that
 * writer added or removed are never invalidated. Staged on real Postgres with a second connection
 * that holds the lock while it changes the kit's competitions. A write that cannot change the kit's
 * memberships (a rename) reads no competitions (nothing it drops depends on them), and takes its
 * picture in the statement that updates the kit, after the lock as well.
 */
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Viewer } from '../../src/auth/viewer.js';
import { catalogueRepository } from '../../src/db/repositories/catalogue.js';
import { noInvalidation, type Change, type Invalidator } from '../../src/domain/changes.js';
import { invalidationFor } from '../../src/invalidation/table.js';
import { createCatalogueService } from '../../src/services/catalogue.js';
import { countSql } from '../helpers/app.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

const noPostgres = inject('pgTemplate') ? false : inject('pgAbsentReason');
const admin: Viewer = { id: 1, username: 'admin', role: 'ADMIN', tokenHash: 'test' };
const KIT = 11;

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

/** A catalogue service whose writes' changes land in `recorded`. */
function recordingService(recorded: Change[]) {
  const invalidator: Invalidator = {
    ...noInvalidation,
    beforeCommit: (tx, changes) => {
      recorded.push(...changes);
      return noInvalidation.beforeCommit(tx, changes);
    },
  };
  return createCatalogueService({ db: database.db, catalogue: catalogueRepository(database.db), invalidator });
}

/** Resolves once some statement of this database waits for a lock (the write under test). */
async function untilWaitingForALock(other: postgres.Sql) {
  for (let i = 0; ; i++) {
    const [row] = await other<{ n: number }[]>`
      select count(*)::int as n from pg_stat_activity
      where datname = current_database() and wait_event_type = 'Lock'`;
    if (row!.n > 0) return;
    if (i > 200) throw new Error('the write never waited for the lock');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const competitionsOf = (change: Change | undefined) =>
  change?.entity === 'Kit' ? [...(change.before?.competitionIds ?? [])].sort((a, b) => a - b) : null;

describe.skipIf(noPostgres)('a kit write that waits for the kit’s lock', () => {
  it('takes its before picture after the lock: the competitions the previous writer left', async () => {
    await database.db.execute(sql`delete from kit_competitions where kit_id = ${KIT}`);
    await database.db.execute(
      sql`insert into kit_competitions (kit_id, competition_id) values (${KIT}, 1), (${KIT}, 2)`,
    );
    const recorded: Change[] = [];
    const service = recordingService(recorded);
    const [kit] = await catalogueRepository(database.db).kits.byIds([KIT]);

    const other = postgres(database.url!, { max: 2, onnotice: () => {} });
    try {
      const reserved = await other.reserve();
      await reserved`begin`;
      // The other writer locks the kit and moves it from competitions 1 and 2 to 3.
      await reserved`update kits set name = name where id = ${KIT}`;
      await reserved`delete from kit_competitions where kit_id = ${KIT}`;
      await reserved`insert into kit_competitions (kit_id, competition_id) values (${KIT}, 3)`;

      // A new type moves the kit between lists: its competitions are part of what it drops.
      const renamed = service.updateKit(admin, KIT, {}, { type: kit?.type === 'AWAY' ? 'HOME' : 'AWAY' });
      await untilWaitingForALock(other);
      await reserved`commit`;
      reserved.release();
      await renamed;
    } finally {
      await other.end({ timeout: 5 });
    }
    expect(competitionsOf(recorded[0])).toEqual([3]);
  });
});

describe.skipIf(noPostgres)('a rename that waits for the kit’s lock', () => {
  it('takes its before picture after the lock, in the statement that updates: the name the previous writer left', async () => {
    await database.db.execute(sql`update kits set name = 'Before both' where id = ${KIT}`);
    const recorded: Change[] = [];
    const service = recordingService(recorded);
    const other = postgres(database.url!, { max: 2, onnotice: () => {} });
    let statements: string[] | undefined;
    try {
      const reserved = await other.reserve();
      await reserved`begin`;
      await reserved`update kits set name = 'Theirs' where id = ${KIT}`;
      const renamed = countSql(database, () => service.updateKit(admin, KIT, {}, { name: 'Ours' }));
      await untilWaitingForALock(other);
      await reserved`commit`;
      reserved.release();
      ({ statements } = await renamed);
    } finally {
      await other.end({ timeout: 5 });
    }
    const [change] = recorded;
    if (change?.entity !== 'Kit') throw new Error('the rename recorded no kit change');
    // Not the name its transaction's snapshot held ('Before both'): the one it found once it held the lock.
    expect(change.before?.name).toBe('Theirs');
    expect(change.after?.name).toBe('Ours');
    // The lock and the update are one statement (one round trip).
    const kitStatements = (statements ?? []).filter((s) => /"kits"/.test(s));
    expect(kitStatements).toHaveLength(1);
    expect(kitStatements[0]).toMatch(/for update\).*update "kits"/is);
    const [row] = await catalogueRepository(database.db).kits.byIds([KIT]);
    expect(row?.name).toBe('Ours');
  });
});

describe.skipIf(noPostgres)('a kit write that cannot change the kit’s memberships', () => {
  it('reads no competitions, and drops only the kit and the name searches', async () => {
    const recorded: Change[] = [];
    const service = recordingService(recorded);
    const { statements } = await countSql(database, () =>
      service.updateKit(admin, KIT, {}, { name: 'Renamed alone', primaryColour: 'teal' }),
    );
    const [change] = recorded;
    if (change?.entity !== 'Kit') throw new Error('the rename recorded no kit change');
    expect(change.before?.competitionIds).toBeNull();
    expect(change.after?.competitionIds).toBeNull();
    expect(statements.filter((s) => /kit_competitions/.test(s))).toEqual([]);
    expect(invalidationFor(change).tags.sort()).toEqual(['Kit.search', `Kit:${KIT}`]);
  });

  it('refuses to drop a kit that moved without its competitions (a write that forgot to read them)', () => {
    const at = new Date();
    const kit = {
      ...{ id: KIT, clubId: 1, seasonId: 1, brandId: 1, type: 'HOME' as const, competitionIds: null },
      ...{ name: 'K', primaryColour: 'red', secondaryColours: [], description: null, createdAt: at, updatedAt: at },
    };
    expect(() =>
      invalidationFor({ entity: 'Kit', before: kit, after: { ...kit, type: 'AWAY' as const }, collectorIds: [] }),
    ).toThrow(/did not read its competitions/);
    // Competitions set without the ones before read: moved, so refused too (not taken as unchanged).
    expect(() =>
      invalidationFor({ entity: 'Kit', before: kit, after: { ...kit, competitionIds: [3] }, collectorIds: [] }),
    ).toThrow(/did not read its competitions/);
  });
});
