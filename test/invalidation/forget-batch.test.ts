/**
 * A writer deletes the invalidation records it delivered off the mutation's path: the mutation
 * answers without waiting for the delete, records delivered together go in one statement, and a
 * delete that fails leaves the record to the followers. Real Postgres (PGlite without it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheCounters } from '../../src/cache/counters.js';
import { noEntityCache } from '../../src/cache/entity/entity-cache.js';
import type { Database } from '../../src/db/client.js';
import { invalidationLogRepository, markApiWrite } from '../../src/db/repositories/invalidation-log.js';
import { clubs } from '../../src/db/schema.js';
import { createCacheInvalidator } from '../../src/invalidation/invalidator.js';
import { createForgetBatch } from '../../src/invalidation/forget-batch.js';
import { silentLogger } from '../helpers/app.js';
import { openTestDatabase } from '../helpers/database.js';

describe('the records a writer delivered', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(async () => {
    await database?.close();
  });

  /** Writes `n` records, as `n` writes' transactions would. */
  async function record(n: number): Promise<number[]> {
    const log = invalidationLogRepository(database.db);
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(
        await database.db.transaction(async (tx) => {
          await markApiWrite(tx);
          return log.record(tx, [`Kit:${i}`], [`kit:${i}`], 60_000);
        }),
      );
    }
    return ids;
  }
  const pendingIds = async () => (await invalidationLogRepository(database.db).pending(100)).map((r) => r.id);

  it('are deleted after the mutation has answered, not before', async () => {
    const log = invalidationLogRepository(database.db);
    let open = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    const asked: number[][] = [];
    const invalidator = createCacheInvalidator({
      entityCache: noEntityCache,
      responseStore: null,
      counters: new CacheCounters(),
      logger: silentLogger,
      // The delete is held until the gate opens.
      log: {
        ...log,
        forget: async (ids) => {
          asked.push([...ids]);
          await gate;
          await log.forget(ids);
        },
      },
    });
    const [club] = await database.db.select().from(clubs).limit(1);
    const receipt = await database.db.transaction(async (tx) => {
      await markApiWrite(tx); // as src/services/write.ts does: the record is written only in a marked transaction
      return invalidator.beforeCommit(tx, [{ entity: 'Club', before: club!, after: { ...club!, name: 'Renamed' } }])
        .recorded;
    });
    expect(receipt.recordId).not.toBeNull();

    // Answers while its delete is held (were the delete on its path, this would never resolve).
    await invalidator.afterCommit(receipt);
    expect(asked).toEqual([[receipt.recordId]]);
    expect(await pendingIds()).toContain(receipt.recordId);

    open();
    await invalidator.settled();
    expect(await pendingIds()).not.toContain(receipt.recordId);
  });

  it('delivered in the same tick are deleted in one statement', async () => {
    const ids = await record(5);
    const batch = createForgetBatch(invalidationLogRepository(database.db).forget, silentLogger);
    const before = database.sql.statements;
    for (const id of ids) batch.add(id);
    await batch.settled();
    expect(database.sql.statements - before).toBe(1);
    expect(await pendingIds()).toEqual(expect.not.arrayContaining(ids));
  });

  it('delivered while a delete runs are deleted by the next one', async () => {
    const [first, ...rest] = await record(4);
    const batch = createForgetBatch(invalidationLogRepository(database.db).forget, silentLogger);
    const before = database.sql.statements;
    batch.add(first!);
    await Promise.resolve(); // the first delete has started
    for (const id of rest) batch.add(id);
    await batch.settled();
    expect(database.sql.statements - before).toBe(2);
    expect(await pendingIds()).toEqual(expect.not.arrayContaining([first, ...rest]));
  });

  it('piling up behind a slow delete are deleted by a few at once, at most four', async () => {
    const ids = await record(61);
    const log = invalidationLogRepository(database.db);
    let open = () => {};
    const gate = new Promise<void>((resolve) => (open = resolve));
    let inFlight = 0;
    let most = 0;
    const batch = createForgetBatch(async (some) => {
      most = Math.max(most, ++inFlight);
      await gate;
      await log.forget(some);
      inFlight -= 1;
    }, silentLogger);
    batch.add(ids[0]!);
    await Promise.resolve(); // the first delete has started, and is held
    for (const id of ids.slice(1)) batch.add(id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(most).toBeGreaterThanOrEqual(2);
    expect(most).toBeLessThanOrEqual(4);
    open();
    await batch.settled();
    expect(await pendingIds()).toEqual(expect.not.arrayContaining(ids));
  });

  it('that could not be deleted stay recorded, for the followers to apply once more', async () => {
    const ids = await record(2);
    const batch = createForgetBatch(async () => {
      throw new Error('Postgres refused');
    }, silentLogger);
    for (const id of ids) batch.add(id);
    await batch.settled();
    expect(await pendingIds()).toEqual(expect.arrayContaining(ids));
    await invalidationLogRepository(database.db).forget(ids);
  });
});
