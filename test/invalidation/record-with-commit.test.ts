/**
 * A write's invalidation record is its transaction's last statement and goes out with COMMIT: one
 * round trip for both (src/services/write.ts; src/db/bounded.ts holds COMMIT back until every
 * statement the write made is sent). A record that fails never lets its write commit: Postgres
 * answers the COMMIT behind a failed statement with a rollback. Real Postgres, through a proxy that
 * shows what the API sends.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Viewer } from '../../src/auth/viewer.js';
import { CacheCounters } from '../../src/cache/counters.js';
import { noEntityCache } from '../../src/cache/entity/entity-cache.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { catalogueRepository } from '../../src/db/repositories/catalogue.js';
import { invalidationLogRepository } from '../../src/db/repositories/invalidation-log.js';
import { cacheInvalidations, kits } from '../../src/db/schema.js';
import { createCacheInvalidator } from '../../src/invalidation/invalidator.js';
import { createCatalogueService, type CatalogueService } from '../../src/services/catalogue.js';
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

beforeAll(async () => {
  database = await openTestDatabase();
  if (skip) return;
  proxy = await startTcpProxy(addressOf(database.url!));
  through = await openDatabase({ url: throughPort(database.url!, proxy.port), maxConnections: 1, timeoutMs: 5000 });
  const invalidator = createCacheInvalidator({
    entityCache: noEntityCache,
    responseStore: null,
    counters: new CacheCounters(),
    logger: silentLogger,
    log: invalidationLogRepository(through.db),
  });
  service = createCatalogueService({ db: through.db, catalogue: catalogueRepository(through.db), invalidator });
});
afterAll(async () => {
  await through?.close();
  await proxy?.close();
  await database?.close();
});

const nameOf = async (id: number) =>
  (await database.db.select({ name: kits.name }).from(kits).where(eq(kits.id, id)))[0]?.name;

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
    const records = async () =>
      (await database.db.select({ id: cacheInvalidations.id }).from(cacheInvalidations)).length;
    const recordsBefore = await records();
    await database.db.execute(
      sql`alter table cache_invalidations add constraint refuse_kit_42 check (not ('Kit:42' = any(tags)))`,
    );
    try {
      await expect(service.updateKit(admin, 42, {}, { name: 'Never committed' })).rejects.toThrow();
    } finally {
      await database.db.execute(sql`alter table cache_invalidations drop constraint refuse_kit_42`);
    }
    expect(await nameOf(42)).toBe(before);
    expect(await records()).toBe(recordsBefore);
    // The connection is fine afterwards: the next write commits with its record.
    await service.updateKit(admin, 42, {}, { name: 'Committed after' });
    expect(await nameOf(42)).toBe('Committed after');
  });
});
