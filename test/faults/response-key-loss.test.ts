/**
 * The Redis response store under staged key loss, one kind of key at a time: whatever Redis evicts
 * (allkeys-lru), a lookup may miss, but never answers what an invalidation dropped, and a write
 * looked up before an invalidation is never stored. Also what that costs: a fence makes one
 * bucket's entries misses, no other bucket's, and ordinary wear (a bucket expired whole) is not
 * taken for a loss.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseCacheKey } from '../../src/cache/response/key.js';
import { bucketOfHash, createRedisResponseStore, HASH_DIGITS } from '../../src/cache/response/redis-store.js';
import type { ResponseStore } from '../../src/cache/response/store.js';
import { dropPrefix, keysUnder, newPrefix, redisAvailable, redisSkipReason, testRedis } from '../helpers/caches.js';

const skip = redisAvailable() ? false : redisSkipReason();
const BUCKETS = 16;
const LONG = 60_000;

let redis: RedisClient;
let prefix: string;
let store: ResponseStore;
let fences: { bucket: number; reason: string }[] = [];
let serial = 0;

const bucketOf = (key: string) => bucketOfHash(key, BUCKETS);
/** A fresh key in bucket `b`. */
function keyIn(b: number): string {
  for (;;) {
    const key = responseCacheKey({ documentString: `{ q${++serial} }` });
    if (bucketOf(key) === b) return key;
  }
}
const value = async (key: string) => (await store.lookup(key)).value?.toString() ?? null;
async function put(key: string, body: string, tags: string[], ttlMs = LONG) {
  const { generation } = await store.lookup(key);
  return store.store(key, body, tags, ttlMs, generation);
}
/** Deletes the keys of bucket `b` whose name (after the hash tag) matches, as an eviction would. */
async function evict(b: number, name: RegExp): Promise<number> {
  const keys = (await keysUnder(redis, prefix)).filter(
    (k) => k.startsWith(`${prefix}{rc:${b}}:`) && name.test(k.slice(`${prefix}{rc:${b}}:`.length)),
  );
  if (keys.length) await redis.del(...keys);
  return keys.length;
}
/** A bucket's clock and its tag versions. */
const CLOCK = /^c$/;
const VERSIONS = /^v$/;

beforeAll(async () => {
  if (skip) return;
  redis = testRedis();
  prefix = newPrefix();
  store = createRedisResponseStore({ redis, prefix, onFence: (bucket, reason) => fences.push({ bucket, reason }) });
});
afterAll(async () => {
  if (redis) {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
});

describe('the Redis response store when a key is lost', () => {
  it.skipIf(skip)(
    `a lost clock: that bucket's entries are misses, no other bucket's${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const [a, c, d] = [keyIn(1), keyIn(1), keyIn(2)];
      expect(await put(a, 'a', ['Kit:1'])).toBe('stored');
      expect(await put(c, 'c', ['Kit:2'])).toBe('stored');
      expect(await put(d, 'd', ['Kit:2'])).toBe('stored');
      const before = await store.lookup(keyIn(1));
      expect(await evict(1, CLOCK)).toBe(1);
      fences = [];
      expect(await value(a)).toBeNull();
      expect(fences).toEqual([{ bucket: 1, reason: 'lost' }]);
      expect(await value(c)).toBeNull();
      expect(await value(d)).toBe('d');
      // A write looked up under the lost clock is refused; the bucket caches again at once.
      expect(await store.store(keyIn(1), 'old', ['Kit:3'], LONG, before.generation)).toBe('stale');
      expect(await put(a, 'a2', ['Kit:1'])).toBe('stored');
      expect(await value(a)).toBe('a2');
    },
  );

  it.skipIf(skip)('lost versions: a write looked up before an invalidation is refused, and fences', async () => {
    const [a, b] = [keyIn(3), keyIn(3)];
    expect(await put(a, 'a', ['Kit:4'])).toBe('stored');
    const before = await store.lookup(b);
    await store.invalidate(['Kit:4']);
    expect(await evict(3, VERSIONS)).toBe(1);
    fences = [];
    expect(await store.store(b, 'stale', ['Kit:4'], LONG, before.generation)).toBe('fenced');
    expect(fences).toEqual([{ bucket: 3, reason: 'lost' }]);
    expect(await value(a)).toBeNull();
    expect(await value(b)).toBeNull();
    // Fenced by that write: the next fill is stored (no bucket stays unable to cache).
    expect(await put(b, 'fresh', ['Kit:4'])).toBe('stored');
    expect(await value(b)).toBe('fresh');
  });

  it.skipIf(skip)(
    'lost versions: an entry nothing was invalidated since is still served, until an invalidation',
    async () => {
      const [a, b] = [keyIn(4), keyIn(4)];
      expect(await put(a, 'a', ['Kit:5'])).toBe('stored');
      expect(await put(b, 'b', ['Kit:6'])).toBe('stored');
      expect(await evict(4, VERSIONS)).toBe(1);
      // Its stamp is the clock's: no version is needed to serve it.
      expect(await value(a)).toBe('a');
      fences = [];
      // Any invalidation now finds the versions gone and fences the bucket, whichever tag.
      await store.invalidate(['Kit:6']);
      expect(fences).toEqual([{ bucket: 4, reason: 'lost' }]);
      expect(await value(a)).toBeNull();
      expect(await value(b)).toBeNull();
    },
  );

  it.skipIf(skip)(
    'clock and versions lost together after an invalidation: a write looked up before is refused',
    async () => {
      const a = keyIn(6);
      expect(await put(keyIn(6), 'x', ['Kit:7'])).toBe('stored');
      const before = await store.lookup(a);
      await store.invalidate(['Kit:7']);
      // A flush, or two evictions within one query: nothing is left to tell what happened.
      expect(await evict(6, /^(c|v)$/)).toBe(2);
      expect(await store.store(a, 'maybe stale', ['Kit:7'], LONG, before.generation)).toBe('stale');
      expect(await value(a)).toBeNull();
      expect(await put(a, 'fresh', ['Kit:7'])).toBe('stored');
      expect(await value(a)).toBe('fresh');
    },
  );

  it.skipIf(skip)(
    'versions of another epoch than the clock (each rewritten at a different time): a fence',
    async () => {
      const a = keyIn(7);
      expect(await put(a, 'a', ['Kit:8'])).toBe('stored');
      await redis.hset(`${prefix}{rc:7}:v`, '@', 'ffffffffffff');
      fences = [];
      await store.invalidate(['Kit:9']);
      expect(fences).toEqual([{ bucket: 7, reason: 'lost' }]);
      expect(await value(a)).toBeNull();
    },
  );

  it.skipIf(skip)('a failover that loses an invalidation never hands out its counter again', async () => {
    // The replica promoted did not have the invalidation (its master died before replicating it):
    // staged by putting back the clock and versions from before it.
    const a = keyIn(5);
    expect(await put(keyIn(5), 'x', ['Kit:40'])).toBe('stored');
    const [c, v] = [`${prefix}{rc:5}:c`, `${prefix}{rc:5}:v`];
    const saved = await Promise.all([redis.dumpBuffer(c), redis.dumpBuffer(v), redis.pttl(c)]);
    await store.invalidate(['Kit:41']); // lost with the master…
    const between = await store.lookup(a); // …but a lookup read its counter first
    await redis.restore(c, saved[2], saved[0]!, 'REPLACE');
    await redis.restore(v, saved[2], saved[1]!, 'REPLACE');
    // On the new master, a mutation of Kit:42 after that lookup's database read: its write is stale.
    await store.invalidate(['Kit:42']);
    expect(await store.store(a, 'stale', ['Kit:42'], LONG, between.generation)).toBe('stale');
    // A generation from that lost history, with no invalidation since on the new master: refused too.
    await store.invalidate(['Kit:43']);
    const lost = await store.lookup(a);
    await redis.restore(c, saved[2], saved[0]!, 'REPLACE');
    await redis.restore(v, saved[2], saved[1]!, 'REPLACE');
    expect(await store.store(a, 'unknown', ['Brand:9'], LONG, lost.generation)).toBe('stale');
    expect(await put(a, 'fresh', ['Kit:42'])).toBe('stored');
    expect(await value(a)).toBe('fresh');
  });

  it.skipIf(skip)('a lost lease: two fills, each guarded; neither is stale', async () => {
    const a = keyIn(8);
    const first = await store.lookup(a);
    expect(await store.lease(a, 2000)).toBe('acquired');
    expect(await evict(8, /^l:/)).toBe(1);
    expect(await store.lease(a, 2000)).toBe('acquired');
    await store.invalidate(['Kit:10']);
    expect(await store.store(a, 'stale', ['Kit:10'], LONG, first.generation)).toBe('stale');
    expect(await put(a, 'fresh', ['Kit:10'])).toBe('stored');
    expect(await value(a)).toBe('fresh');
  });

  it.skipIf(skip)('an entry not in this format (an older deploy, or damage) is never served, and goes', async () => {
    const a = keyIn(9);
    expect(await put(keyIn(9), 'x', ['Kit:11'])).toBe('stored');
    const entry = `${prefix}{rc:9}:r:${a.slice(0, HASH_DIGITS)}`;
    const clock = (await redis.get(`${prefix}{rc:9}:c`))!;
    for (const stored of [
      '1 0 60000 0 P "x"\n{"data":{}}',
      // The clock's epoch and length, but no tag line: what invalidates it cannot be read.
      `${clock.slice(0, 13)}${'9'.repeat(16)}.${clock.slice(30)}\n`,
      // Another epoch's stamp.
      `ffffffffffff.${clock.slice(13)}\nKit:11\n{"data":{}}`,
    ]) {
      await redis.set(entry, stored, 'PX', LONG);
      expect(await value(a)).toBeNull();
      expect(await redis.exists(entry)).toBe(0);
    }
    expect(await put(a, 'new', ['Kit:11'])).toBe('stored');
    expect(await value(a)).toBe('new');
  });
});

describe('no false alarm: ordinary wear is not taken for a loss', () => {
  it.skipIf(skip)('a bucket expired whole (clock and versions), or never used', async () => {
    const a = keyIn(10);
    expect(await put(a, 'a', ['Kit:20'])).toBe('stored');
    // Both expire together: gone together, as after their last entry's expiry.
    expect(await evict(10, /^(c|v)$/)).toBe(2);
    fences = [];
    await store.invalidate(['Kit:20']);
    expect(await value(a)).toBeNull();
    expect(await put(a, 'a2', ['Kit:21'])).toBe('stored');
    await store.invalidate(['Kit:22']);
    expect(fences).toEqual([]);
    expect(await value(a)).toBe('a2');
  });

  it.skipIf(skip)("another tag's invalidation, and one of a tag no entry here carries", async () => {
    const [a, c] = [keyIn(11), keyIn(11)];
    expect(await put(a, 'a', ['Kit:30', 'Club:30'])).toBe('stored');
    expect(await put(c, 'c', ['Kit:31'])).toBe('stored');
    fences = [];
    await store.invalidate(['Club:30']);
    await store.invalidate(['Kit:30', 'Brand:999']);
    expect(fences).toEqual([]);
    expect(await value(a)).toBeNull();
    expect(await value(c)).toBe('c');
  });
});
