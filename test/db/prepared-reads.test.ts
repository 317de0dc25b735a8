/**
 * The repositories' reads are built once and prepared: one statement text per read (per filter
 * shape for the lists), whatever the batch size or the values, and on Postgres a named statement
 * that each connection parses once rather than once per read.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { catalogueRepository } from '../../src/db/repositories/catalogue.js';
import { invalidationLogRepository } from '../../src/db/repositories/invalidation-log.js';
import { userRepository } from '../../src/db/repositories/users.js';
import { noInvalidation } from '../../src/domain/changes.js';
import { createCatalogueService } from '../../src/services/catalogue.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

const noPostgres = inject('pgTemplate') ? false : inject('pgAbsentReason');

let database: TestDatabase;
/** On Postgres, a pool of ONE connection, so the statements it has prepared can be counted. */
let single: Database;

beforeAll(async () => {
  database = await openTestDatabase();
  single = database.url ? await openDatabase({ url: database.url, maxConnections: 1, timeoutMs: 5_000 }) : database;
});
afterAll(async () => {
  if (single !== database) await single?.close();
  await database?.close();
});

/** The distinct statement texts `work` sent. */
async function textsOf(db: Database, work: () => Promise<unknown>): Promise<Set<string>> {
  const texts = new Set<string>();
  const listener = (query: string) => texts.add(query);
  db.sql.listeners.add(listener);
  try {
    await work();
  } finally {
    db.sql.listeners.delete(listener);
  }
  return texts;
}

const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('prepared reads', () => {
  it('reads a batch of any size with one statement text, and answers exactly the rows asked for', async () => {
    const catalogue = catalogueRepository(database.db);
    const found: number[][] = [];
    const texts = await textsOf(database, async () => {
      for (const ids of [[1], [2, 3], range(1, 50), [999_999]])
        found.push((await catalogue.kits.byIds(ids)).map((k) => k.id).sort((a, b) => a - b));
      await catalogue.kitIdsByClubs([1, 2]);
      await catalogue.kitIdsByClubs(range(1, 30));
    });
    expect(found).toEqual([[1], [2, 3], range(1, 50), []]);
    // One text for the kits by id, one for the kit ids by club.
    expect(texts.size).toBe(2);
  });

  it('sends a list as one statement text per shape of its filter, and pages it by the values bound', async () => {
    const catalogue = catalogueRepository(database.db);
    const [clubA, clubB] = (await catalogue.clubs.byIds(range(1, 2))).map((c) => c.id).sort((a, b) => a - b);
    const pages: number[][] = [];
    const sameShape = await textsOf(database, async () => {
      for (const clubId of [clubA!, clubB!])
        pages.push((await catalogue.listKits({ clubId }, null, 3)).map((k) => k.id));
      pages.push((await catalogue.listKits({ clubId: clubA! }, pages[0]![0]!, 2)).map((k) => k.id));
    });
    const otherShapes = await textsOf(database, async () => {
      await catalogue.listKits({}, null, 3);
      await catalogue.listKits({ clubId: clubA!, type: 'HOME' }, null, 3);
    });
    // Same shape (a club, no cursor; then with a cursor): two texts. Two other shapes: two more.
    expect(sameShape.size).toBe(2);
    expect(otherShapes.size).toBe(2);
    expect([...otherShapes].some((text) => sameShape.has(text))).toBe(false);
    // The pages are the ones the values ask for, read the long way.
    const truth = async (clubId: number) =>
      (
        (await database.db.execute(
          sql`select id from kits where club_id = ${clubId} order by id limit 3`,
        )) as unknown as { id: number }[]
      ).map((r) => Number(r.id));
    expect(pages[0]).toEqual(await truth(clubA!));
    expect(pages[1]).toEqual(await truth(clubB!));
    expect(pages[2]).toEqual(pages[0]!.slice(1, 3));
    expect(await catalogue.countKits({ clubId: clubA! })).toBeGreaterThanOrEqual(pages[0]!.length);
  });

  it('binds ids past 2^31 for a bigserial column (the invalidation records)', async () => {
    const log = invalidationLogRepository(database.db);
    const big = 3_000_000_000;
    await database.db.execute(
      sql`insert into cache_invalidations (id, tags, entity_keys, due_at) values (${big}, '{Kit:1}', '{}', now())`,
    );
    expect(await log.isPending(big)).toBe(true);
    await log.forget([big]);
    expect(await log.isPending(big)).toBe(false);
  });

  it.skipIf(noPostgres)(
    'keeps one named statement per read (per shape for a list) on a Postgres connection, however many batch sizes and values it served',
    async () => {
      const catalogue = catalogueRepository(single.db);
      const users = userRepository(single.db);
      const prepared = async () =>
        Number(
          (
            (await single.db.execute(sql`select count(*)::int as n from pg_prepared_statements`)) as unknown as {
              n: number;
            }[]
          )[0]!.n,
        );
      await catalogue.kits.byIds([1]);
      await users.publicUsersByIds([1]);
      const afterFirst = await prepared();
      // Each read is a named statement of this connection (an unnamed one is not listed).
      expect(afterFirst).toBeGreaterThanOrEqual(2);
      for (let n = 1; n <= 40; n++) {
        await catalogue.kits.byIds(range(1, n));
        await users.publicUsersByIds(range(1, n));
      }
      // Forty batch sizes later, nothing more was prepared: each was bound to the same statement.
      expect(await prepared()).toBe(afterFirst);
      // A list: one statement per shape of its filter, whatever the values and page sizes.
      for (let clubId = 1; clubId <= 10; clubId++) {
        await catalogue.listKits({ clubId }, null, clubId);
        await catalogue.listKits({ clubId, type: 'AWAY' }, null, 2);
      }
      expect(await prepared()).toBe(afterFirst + 2);
    },
  );

  it.skipIf(noPostgres)(
    'prepares a write’s statements on its transaction’s connection, once for every write after it',
    async () => {
      const statements = async () =>
        (
          (await single.db.execute(sql`select statement from pg_prepared_statements`)) as unknown as {
            statement: string;
          }[]
        ).map((r) => r.statement);
      const service = createCatalogueService({
        db: single.db,
        catalogue: catalogueRepository(single.db),
        invalidator: noInvalidation,
      });
      const admin = { id: 1, username: 'admin', role: 'ADMIN' as const, tokenHash: 'test' };
      // A new type can move a kit between lists: the write reads its competitions too.
      await service.updateKit(admin, 3, {}, { type: 'SPECIAL' });
      const afterOne = await statements();
      // The kit's lock, its competitions and the update: named statements of the one connection.
      expect(afterOne.filter((s) => /for update/i.test(s))).toHaveLength(1);
      expect(afterOne.some((s) => /^update "kits"/i.test(s))).toBe(true);
      expect(afterOne.some((s) => /from "kit_competitions"/i.test(s))).toBe(true);
      for (let i = 2; i <= 5; i++) await service.updateKit(admin, 3 + i, {}, { type: 'SPECIAL' });
      // Later writes of the same kind reuse them.
      expect((await statements()).length).toBe(afterOne.length);
    },
  );

  it.skipIf(noPostgres)(
    'prepares nothing with DATABASE_PREPARE off (for a pooler that cannot keep named statements)',
    async () => {
      const unprepared = await openDatabase({ url: database.url!, maxConnections: 1, prepare: false });
      try {
        const catalogue = catalogueRepository(unprepared.db);
        expect((await catalogue.kits.byIds([1, 2])).map((k) => k.id).sort()).toEqual([1, 2]);
        await catalogue.listKits({ clubId: 1 }, null, 3);
        await userRepository(unprepared.db).publicUsersByIds([1]);
        const [row] = (await unprepared.db.execute(
          sql`select count(*)::int as n from pg_prepared_statements`,
        )) as unknown as { n: number }[];
        expect(row!.n).toBe(0);
      } finally {
        await unprepared.close();
      }
    },
  );
});
