/**
 * Nothing waits forever: a read that fails in an unexpected way still settles every key of the
 * entity cache (DataLoader's rule), and a request that joined an identical miss whose leader never
 * finishes executes by itself after a bounded wait.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CacheCounters } from '../../src/cache/counters.js';
import { createMemoryEntityStorage } from '../../src/cache/entity/memory-storage.js';
import { createReadThroughCache } from '../../src/cache/entity/read-through.js';
import type { Database } from '../../src/db/client.js';
import { Query } from '../../src/resolvers/query.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

const kitResolver = vi.spyOn(Query, 'kit');

/** The promise's outcome, or 'pending' if it has none within `ms`. */
const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([
    p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms)),
  ]);

describe('every wait settles', () => {
  it('rejects every reader of a batch whose read failed in an unexpected way', async () => {
    const cache = createReadThroughCache({
      storage: createMemoryEntityStorage(),
      prefix: 't:',
      ttlMs: () => 60_000,
      negativeTtlMs: 1_000,
      counters: new CacheCounters(),
      report: () => {},
    });
    // A fetch that breaks its contract (answers no Map): the reader and the one that joined it must both hear of it.
    const broken = async () => ({}) as unknown as Map<number, string>;
    const first = cache.readThrough('Probe', [1, 2], broken);
    const joined = cache.readThrough('Probe', [2], async () => new Map([[2, 'never asked']]));
    for (const outcome of [await within(first, 1_000), await within(joined, 1_000)]) {
      expect(outcome).not.toBe('pending');
      expect(outcome).toHaveProperty('error');
    }
  });

  describe('a coalesced miss whose leader never finishes', () => {
    let database: Database;
    let c: CachedApp;
    beforeAll(async () => {
      database = await openTestDatabase();
      c = await cachedApp(database, { backend: 'memory', joinWaitMs: 200 });
    });
    afterAll(() => database?.close());

    it('lets the request that joined it execute by itself after a bounded wait', async () => {
      let release!: () => void;
      const hung = new Promise<void>((resolve) => (release = resolve));
      kitResolver.mockImplementationOnce(async () => {
        await hung;
        return null;
      });
      const ask = () =>
        c.front.fetch('http://kitvault.test/graphql', {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify({ query: '{ kit(id: 5) { id name } }' }),
        });
      const leader = ask();
      await new Promise((resolve) => setTimeout(resolve, 20)); // the leader is executing, and hangs
      const waiter = await within(ask(), 3_000);
      expect(waiter).not.toBe('pending');
      const response = (waiter as { value: Response }).value;
      expect(await response.json()).toMatchObject({ data: { kit: { id: '5', name: expect.any(String) } } });
      release();
      await leader;
    });
  });
});
