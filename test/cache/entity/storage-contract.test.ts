/**
 * The lease contract of entity storage, run against Redis and the in-memory LRU alike.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryEntityStorage } from '../../../src/cache/entity/memory-storage.js';
import { createRedisEntityStorage } from '../../../src/cache/entity/redis-storage.js';
import type { EntityStorage } from '../../../src/cache/entity/storage.js';
import { backends, dropPrefix, keysUnder, newPrefix, testRedis } from '../../helpers/caches.js';

describe.each(backends())('entity storage contract on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  let prefix = '';
  let storage: EntityStorage;
  const k = (name: string) => `${prefix}{e:1:T:${name}}`;

  beforeAll(() => {
    if (skip) return;
    prefix = newPrefix();
    if (backend === 'redis') redis = testRedis();
    storage = redis ? createRedisEntityStorage(redis) : createMemoryEntityStorage();
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it.skipIf(skip)(
    `leases a miss to one reader; others are told it is busy${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      expect(await storage.readOrLease([k('a'), k('b')], 'tok1', 5000)).toEqual([
        { kind: 'leased' },
        { kind: 'leased' },
      ]);
      expect(await storage.readOrLease([k('a')], 'tok2', 5000)).toEqual([{ kind: 'busy' }]);
    },
  );

  it.skipIf(skip)('accepts a fill from the lease holder only, then serves it', async () => {
    expect(await storage.fill([{ key: k('a'), value: Buffer.from('A'), ttlMs: 10_000 }], 'tok2')).toEqual([false]);
    expect(
      await storage.fill(
        [
          { key: k('a'), value: Buffer.from('A'), ttlMs: 10_000 },
          { key: k('b'), value: Buffer.from('B'), ttlMs: 10_000 },
        ],
        'tok1',
      ),
    ).toEqual([true, true]);
    const read = await storage.readOrLease([k('a'), k('b')], 'tok3', 5000);
    expect(read.map((r) => (r.kind === 'hit' ? r.value.toString() : r.kind))).toEqual(['A', 'B']);
  });

  it.skipIf(skip)('refuses a stale fill: an invalidation between lease and fill voids the lease', async () => {
    expect(await storage.readOrLease([k('c')], 'old', 5000)).toEqual([{ kind: 'leased' }]);
    await storage.invalidate([k('c')]);
    expect(await storage.fill([{ key: k('c'), value: Buffer.from('stale'), ttlMs: 10_000 }], 'old')).toEqual([false]);
    expect(await storage.readOrLease([k('c')], 'new', 5000)).toEqual([{ kind: 'leased' }]);
  });

  it.skipIf(skip)('drops values on invalidation and lets leases expire', async () => {
    await storage.invalidate([k('a')]);
    const read = await storage.readOrLease([k('a'), k('b')], 'tok4', 50);
    expect(read[0]).toEqual({ kind: 'leased' });
    expect(read[1]?.kind).toBe('hit');
    await new Promise((r) => setTimeout(r, 80));
    expect(await storage.readOrLease([k('a')], 'tok5', 5000)).toEqual([{ kind: 'leased' }]);
  });

  if (backend === 'redis') {
    it.skipIf(skip)('puts a TTL on every key it writes', async () => {
      await storage.fill([{ key: k('a'), value: Buffer.from('x'), ttlMs: 10_000 }], 'tok5');
      const keys = await keysUnder(redis!, prefix);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(await redis!.pttl(key), key).toBeGreaterThan(0);
    });
  }
});
