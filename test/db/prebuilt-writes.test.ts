/**
 * A write's statements are built once (src/db/repositories/prebuilt.ts) and run on each write's
 * transaction: a write builds no statement of its own beyond its source mark, and what it writes
 * and answers is what drizzle's builders wrote and answered (nulls, dates, arrays, column names).
 */
import { PgDialect } from 'drizzle-orm/pg-core';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { catalogueRepository } from '../../src/db/repositories/catalogue.js';
import { invalidationLogRepository, markApiWrite } from '../../src/db/repositories/invalidation-log.js';
import { noInvalidation } from '../../src/domain/changes.js';
import { createCatalogueService } from '../../src/services/catalogue.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(async () => {
  await database?.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

const admin = { id: 1, username: 'admin', role: 'ADMIN' as const, tokenHash: 'test' };

/** How many statements drizzle built (its dialect turned into text) while `work` ran. */
async function builtDuring(work: () => Promise<unknown>): Promise<number> {
  const build = vi.spyOn(PgDialect.prototype, 'sqlToQuery');
  try {
    await work();
    return build.mock.calls.length;
  } finally {
    build.mockRestore();
  }
}

describe('prebuilt write statements', () => {
  it('builds none of a write’s statements again: a rename builds only its source mark', async () => {
    const catalogue = catalogueRepository(database.db);
    const service = createCatalogueService({ db: database.db, catalogue, invalidator: noInvalidation });
    await service.updateKit(admin, 11, {}, { name: 'Prebuilt first' }); // each shape is built on its first use
    const built = await builtDuring(async () => {
      for (let id = 12; id < 17; id++) await service.updateKit(admin, id, {}, { name: `Prebuilt ${id}` });
    });
    // Five renames, each: the lock (prebuilt), the update (prebuilt), the source mark (built).
    expect(built).toBe(5);
    const renamed = await catalogue.kits.byIds([12, 16]);
    expect(renamed.map((k) => k.name).sort()).toEqual(['Prebuilt 12', 'Prebuilt 16']);
  });

  it('writes and answers what the builders did: nulls, dates, arrays and column names', async () => {
    const catalogue = catalogueRepository(database.db);
    const service = createCatalogueService({ db: database.db, catalogue, invalidator: noInvalidation });
    const [before] = await catalogue.kits.byIds([21]);
    const answered = await service.updateKit(
      admin,
      21,
      {},
      { description: null, secondaryColours: ['navy', 'sky "blue"'], primaryColour: 'white' },
    );
    const [after] = await catalogue.kits.byIds([21]);
    // What the update returned is the row as read back, mapped to the schema's property names.
    expect(answered).toEqual(after);
    expect(after).toMatchObject({
      id: 21,
      description: null,
      secondaryColours: ['navy', 'sky "blue"'],
      primaryColour: 'white',
      name: before!.name,
    });
    expect(after!.updatedAt).toBeInstanceOf(Date);
    expect(after!.updatedAt.getTime()).toBeGreaterThanOrEqual(before!.updatedAt.getTime());

    const club = await service.createClub(admin, { name: 'Prebuilt Athletic', country: 'Wales' });
    expect(club).toMatchObject({
      name: 'Prebuilt Athletic',
      country: 'Wales',
      founded: null,
      slug: 'prebuilt-athletic',
    });
    expect(await catalogue.clubs.byIds([club.id])).toEqual([club]);
  });

  it('records an invalidation with its tags and entity keys as arrays, due after its claim', async () => {
    const log = invalidationLogRepository(database.db);
    const tags = ['Kit:31', 'Kit.search', 'Club:1.kits'];
    const id = await database.db.transaction(async (tx) => {
      await markApiWrite(tx);
      return log.record(tx, tags, ['Kit:31'], 60_000);
    });
    expect(await log.isPending(id)).toBe(true);
    // Not due for a minute: the due rows leave it out; every pending row has it, as written.
    expect((await log.due(1000)).some((row) => row.id === id)).toBe(false);
    expect((await log.pending(1000)).find((row) => row.id === id)).toEqual({ id, tags, entityKeys: ['Kit:31'] });
    await log.forget([id]);
  });
});
