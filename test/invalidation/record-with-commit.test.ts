/**
 * A write's invalidation record is its transaction's last statement and goes out with COMMIT: one
 * round trip for both (src/services/write.ts; src/db/bounded.ts holds COMMIT back until every
 * statement the write made is sent). A record that fails never lets its write commit: Postgres
 * answers the COMMIT behind a failed statement with a rollback; a record the invalidation table
 * refuses is refused before COMMIT is sent; and a record postgres-js sends again after COMMIT (its
 * retry of a prepared statement whose plan went stale) writes nothing and fails the write. Real
 * Postgres, through a proxy that shows what the API sends.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Viewer } from '../../src/auth/viewer.js';
import { CacheCounters } from '../../src/cache/counters.js';
import { noEntityCache } from '../../src/cache/entity/entity-cache.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { catalogueRepository } from '../../src/db/repositories/catalogue.js';
import {
  invalidationLogRepository,
  RecordOutsideTransactionError,
} from '../../src/db/repositories/invalidation-log.js';
import { cacheInvalidations, kits } from '../../src/db/schema.js';
import type { Change, Invalidator } from '../../src/domain/changes.js';
import { createCacheInvalidator } from '../../src/invalidation/invalidator.js';
import { createCatalogueService, type CatalogueService } from '../../src/services/catalogue.js';
import { createWriter } from '../../src/services/write.js';
import { silentLogger } from '../helpers/app.js';
import { addressOf, openTestDatabase, throughPort, type TestDatabase } from '../helpers/database.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const skip = inject('pgTemplate') ? false : inject('pgAbsentReason');
const admin: Viewer = { id: 1, username: 'admin', role: 'ADMIN', tokenHash: 'test' };
/** A Sync message of the extended protocol: each statement postgres-js sends ends with one. */
const SYNC = Buffer.from([0x53, 0, 0, 0, 4]);

let database: TestDatabase;
let proxy: TcpProxy;
let through: Database;
let service: CatalogueService;
let invalidator: Invalidator;

beforeAll(async () => {
  database = await openTestDatabase();
  if (skip) return;
  proxy = await startTcpProxy(addressOf(database.url!));
  through = await openDatabase({ url: throughPort(database.url!, proxy.port), maxConnections: 1, timeoutMs: 5000 });
  invalidator = recordingInvalidator(through);
  service = serviceOn(through, invalidator);
});

/** An invalidator that records each write's invalidation on `database` (no caches to drop). */
const recordingInvalidator = (database: Database) =>
  createCacheInvalidator({
    entityCache: noEntityCache,
    responseStore: null,
    counters: new CacheCounters(),
    logger: silentLogger,
    log: invalidationLogRepository(database.db),
  });
const serviceOn = (database: Database, invalidator: Invalidator) =>
  createCatalogueService({ db: database.db, catalogue: catalogueRepository(database.db), invalidator });
afterAll(async () => {
  await through?.close();
  await proxy?.close();
  await database?.close();
});

const nameOf = async (id: number) =>
  (await database.db.select({ name: kits.name }).from(kits).where(eq(kits.id, id)))[0]?.name;
/** Records naming `tag`, written and not yet delivered (a delivered one is deleted soon after). */
const recordsNaming = async (tag: string) =>
  (
    await database.db
      .select({ id: cacheInvalidations.id })
      .from(cacheInvalidations)
      .where(sql`${tag} = any(${cacheInvalidations.tags})`)
  ).length;

/** How many times `needle` occurs in `haystack`. */
function occurrences(haystack: Buffer, needle: Buffer): number {
  let n = 0;
  for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + needle.length)) n++;
  return n;
}

describe.skipIf(skip)('a write’s invalidation record', () => {
  it('goes out with COMMIT: one write to Postgres carries both', async () => {
    await service.updateKit(admin, 41, {}, { name: 'Recorded once' }); // its statements prepared on the connection
    const chunks: Buffer[] = [];
    const stop = proxy.watchRequests((chunk) => chunks.push(chunk));
    try {
      await service.updateKit(admin, 41, {}, { name: 'Recorded with commit' });
    } finally {
      stop();
    }
    expect(await nameOf(41)).toBe('Recorded with commit');
    // The record's tags are bound as its parameters; the chunk that carries them also ends COMMIT.
    const withRecord = chunks.filter((chunk) => chunk.includes('{"Kit:41","Kit.search"}'));
    expect(withRecord).toHaveLength(1);
    expect(occurrences(withRecord[0]!, SYNC)).toBe(2);
  });

  it('that fails leaves its write uncommitted, and the mutation fails', async () => {
    const before = await nameOf(42);
    await database.db.execute(
      sql`alter table cache_invalidations add constraint refuse_kit_42 check (not ('Kit:42' = any(tags)))`,
    );
    try {
      await expect(service.updateKit(admin, 42, {}, { name: 'Never committed' })).rejects.toThrow();
    } finally {
      await database.db.execute(sql`alter table cache_invalidations drop constraint refuse_kit_42`);
    }
    expect(await nameOf(42)).toBe(before);
    expect(await recordsNaming('Kit:42')).toBe(0);
    // The connection is fine afterwards: the next write commits with its record.
    await service.updateKit(admin, 42, {}, { name: 'Committed after' });
    expect(await nameOf(42)).toBe('Committed after');
  });

  it('that the invalidation table refuses is refused before COMMIT: the write is not committed', async () => {
    const before = await nameOf(43);
    const write = createWriter({ db: through.db, invalidator });
    // A kit that moved to another club, reported without its competitions: the table cannot name
    // every list it left, and refuses (src/invalidation/table.ts).
    const refused = write(async (tx) => {
      const [row] = await tx.update(kits).set({ name: 'Refused' }).where(eq(kits.id, 43)).returning();
      const kit = { ...row!, competitionIds: null };
      const moved: Change = { entity: 'Kit', before: kit, after: { ...kit, clubId: kit.clubId + 1 }, collectorIds: [] };
      return { result: null, changes: [moved] };
    });
    await expect(refused).rejects.toThrow(/did not read its competitions/);
    expect(await nameOf(43)).toBe(before);
    expect(await recordsNaming('Kit:43')).toBe(0);
  });

  it('sent again by postgres-js after COMMIT writes nothing, and the write fails uncommitted', async () => {
    // Its own connection: the test changes the record's result type under its prepared statement.
    const own = await openDatabase({ url: throughPort(database.url!, proxy.port), maxConnections: 1, timeoutMs: 5000 });
    try {
      const ownInvalidator = recordingInvalidator(own);
      const ownService = serviceOn(own, ownInvalidator);
      await ownService.updateKit(admin, 44, {}, { name: 'Prepared' }); // the record's statement prepared
      await ownInvalidator.settled(); // its record delivered and deleted
      expect(await recordsNaming('Kit:44')).toBe(0);
      // Its cached plan now returns another type: Postgres refuses it ("cached plan must not change
      // result type", RevalidateCachedQuery) and aborts the transaction, whose COMMIT, already sent
      // behind it, rolls back; postgres-js then prepares and sends the record again, on its own.
      await database.db.execute(sql`alter table cache_invalidations alter column id type integer`);
      try {
        // The error only the record sent again, outside the transaction, can give.
        await expect(ownService.updateKit(admin, 44, {}, { name: 'Rolled back' })).rejects.toBeInstanceOf(
          RecordOutsideTransactionError,
        );
      } finally {
        await database.db.execute(sql`alter table cache_invalidations alter column id type bigint`);
      }
      // Without the record's guard, the record sent again after the rollback would be written on its
      // own and answer an id: the mutation would report the rolled-back rename as done.
      expect(await nameOf(44)).toBe('Prepared');
      expect(await recordsNaming('Kit:44')).toBe(0);
    } finally {
      await own.close();
    }
  });
});
