/**
 * Coalescing across servers sharing one Redis: after a miss, one server fills (it holds a lease in
 * the entry's bucket); another server missing the same entry waits briefly for that fill instead of
 * executing, and if the fill is slow, executes without writing.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { Query } from '../../src/resolvers/query.js';
import { gql } from '../helpers/app.js';
import {
  cachedApp,
  dropPrefix,
  keysUnder,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
  type CachedApp,
} from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
/** Holds the next brand resolution after it has read its row. */
const gate = { armed: false, reached: deferred(), release: deferred() };
const originalBrand = Query.brand;
const brandResolver = vi.spyOn(Query, 'brand').mockImplementation(async (...args: Parameters<typeof originalBrand>) => {
  const row = await originalBrand(...args);
  if (gate.armed) {
    gate.armed = false;
    gate.reached.resolve();
    await gate.release.promise;
  }
  return row;
});
const arm = () => Object.assign(gate, { armed: true, reached: deferred(), release: deferred() });

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const skip = redisAvailable() ? false : redisSkipReason();

describe('coalescing across servers', () => {
  let redis: RedisClient | undefined;
  const prefix = newPrefix();
  let one: CachedApp;
  let two: CachedApp;

  beforeAll(async () => {
    if (skip) return;
    redis = testRedis();
    one = await cachedApp(database, { backend: 'redis', redis, prefix });
    two = await cachedApp(database, { backend: 'redis', redis, prefix });
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it.skipIf(skip)(
    `lets the second server wait for the first one's fill instead of executing${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const q = '{ brand(id: 4) { name } }';
      brandResolver.mockClear();
      arm();
      const first = gql(one.app, q);
      await gate.reached.promise; // server one missed, holds the lease and is executing
      const second = gql(two.app, q);
      await new Promise((r) => setTimeout(r, 60)); // server two is waiting for the fill
      gate.release.resolve();
      const [a, b] = await Promise.all([first, second]);
      expect(b.data).toEqual(a.data);
      expect(brandResolver).toHaveBeenCalledTimes(1);
      expect(two.caches.counters.get('response_coalesced')).toBe(1);
    },
  );

  it.skipIf(skip)('executes without writing when the fill takes longer than the wait', async () => {
    const q = '{ brand(id: 5) { name } }';
    brandResolver.mockClear();
    const writesBefore = two.caches.counters.get('response_write');
    arm();
    const first = gql(one.app, q);
    await gate.reached.promise;
    const second = await gql(two.app, q); // waits ~250 ms, then runs itself
    expect(second.data?.brand.name).toBeTruthy();
    expect(two.caches.counters.get('response_lease_busy')).toBe(1);
    gate.release.resolve();
    await first;
    await Promise.all([one.caches.settled(), two.caches.settled()]);
    expect(brandResolver).toHaveBeenCalledTimes(2);
    expect(two.caches.counters.get('response_write')).toBe(writesBefore);
    // The filler's entry is what both now serve.
    expect((await gql(two.app, q)).extensions?.responseCache?.hit).toBe(true);
  });

  it.skipIf(skip)(
    'releases the lease with the write, so the next miss after an invalidation does not wait',
    async () => {
      const q = '{ brand(id: 6) { name } }';
      await gql(one.app, q);
      await one.caches.settled();
      expect((await keysUnder(redis!, prefix)).filter((k) => k.includes('}:l:'))).toEqual([]);
    },
  );
});
