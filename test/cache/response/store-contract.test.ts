/**
 * The response store contract, run against the Redis store (real Redis) and the in-memory store alike.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryResponseStore } from '../../../src/cache/response/memory-store.js';
import { bucketOfHash, CLOCK_SLACK_MS, createRedisResponseStore } from '../../../src/cache/response/redis-store.js';
import type { ResponseStore } from '../../../src/cache/response/store.js';
import { responseCacheKey } from '../../../src/cache/response/key.js';
import {
  backends,
  dropPrefix,
  keysUnder,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
} from '../../helpers/caches.js';

const key = (n: string) => responseCacheKey({ documentString: `{ q${n} }` });

describe.each(backends())('response store contract on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  let prefix = '';
  let store: ResponseStore;

  beforeAll(() => {
    if (skip) return;
    prefix = newPrefix();
    if (backend === 'redis') redis = testRedis();
    store = redis ? createRedisResponseStore({ redis, prefix }) : createMemoryResponseStore();
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it.skipIf(skip)(`stores and finds an entry${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const miss = await store.lookup(key('a'));
    expect(miss.value).toBeNull();
    expect(await store.store(key('a'), '{"data":1}', ['Kit:1'], 10_000, miss.generation)).toBe('stored');
    expect((await store.lookup(key('a'))).value?.toString()).toBe('{"data":1}');
  });

  it.skipIf(skip)('drops exactly the entries carrying an invalidated tag', async () => {
    for (const [n, tags] of [
      ['b', ['Kit:2', 'Club:1']],
      ['c', ['Kit:3', 'Club:1']],
      ['d', ['Kit:4']],
    ] as const) {
      const { generation } = await store.lookup(key(n));
      await store.store(key(n), n, tags, 10_000, generation);
    }
    await store.invalidate(['Club:1']);
    expect((await store.lookup(key('b'))).value).toBeNull();
    expect((await store.lookup(key('c'))).value).toBeNull();
    expect((await store.lookup(key('d'))).value?.toString()).toBe('d');
  });

  it.skipIf(skip)('refuses a write whose lookup came before an invalidation of one of its tags', async () => {
    const before = await store.lookup(key('e'));
    await store.invalidate(['Kit:5']);
    expect(await store.store(key('e'), 'stale', ['Kit:5', 'Club:9'], 10_000, before.generation)).toBe('stale');
    expect((await store.lookup(key('e'))).value).toBeNull();
    // Another tag's invalidation does not block it, and a fresh lookup may write.
    const other = await store.lookup(key('f'));
    await store.invalidate(['Kit:6']);
    expect(await store.store(key('f'), 'fine', ['Kit:5'], 10_000, other.generation)).toBe('stored');
    const after = await store.lookup(key('e'));
    expect(await store.store(key('e'), 'fresh', ['Kit:5'], 10_000, after.generation)).toBe('stored');
    expect((await store.lookup(key('e'))).value?.toString()).toBe('fresh');
  });

  it.skipIf(skip)(
    'hands out the tags an entry was stored with and its remaining lifetime, read with it, when asked',
    async () => {
      const { generation } = await store.lookup(key('t'));
      await store.store(key('t'), 'tagged', ['Kit:8', 'Club.country:x'], 10_000, generation);
      expect((await store.lookup(key('t'))).tags).toBeUndefined();
      const found = await store.lookup(key('t'), true);
      expect(found.value?.toString()).toBe('tagged');
      expect(found.tags).toEqual(['Kit:8', 'Club.country:x']);
      // …and how much longer the store keeps it.
      expect(found.ttlMs).toBeGreaterThan(8_000);
      expect(found.ttlMs).toBeLessThanOrEqual(10_010); // the memory store's clock may read a few ms over
    },
  );

  it.skipIf(skip)('never serves an entry after the invalidation of a tag holding a newline or a tab', async () => {
    for (const [n, tag] of [
      ['n', 'Club.country:north\nfield'],
      ['tab', 'Club.country:north\tfield'],
    ] as const) {
      const { generation } = await store.lookup(key(n));
      const outcome = await store.store(key(n), 'odd', [tag], 10_000, generation);
      // Redis keeps an entry's tags on one tab-separated line, so it cannot store these.
      expect(outcome).toBe(redis ? 'unfit' : 'stored');
      await store.invalidate([tag]);
      expect((await store.lookup(key(n))).value).toBeNull();
    }
  });

  it.skipIf(skip)('a miss asked to lease takes the fill lease with its lookup; a hit takes none', async () => {
    const missed = await store.lookup(key('lease'), false, 2_000);
    expect(missed).toMatchObject({ value: null, lease: 'acquired' });
    // A lease is the server's: another of its requests finds it its own (in-process coalescing decides).
    expect((await store.lookup(key('lease'), true, 2_000)).lease).toBe('acquired');
    expect(await store.lease(key('lease'), 2_000)).toBe('acquired');
    // A lookup not asked to lease says nothing of it.
    expect((await store.lookup(key('lease'))).lease).toBeUndefined();
    expect(await store.store(key('lease'), 'filled', ['Kit:60'], 10_000, missed.generation)).toBe('stored');
    for (const forLayer of [false, true]) {
      const hit = await store.lookup(key('lease'), forLayer, 2_000);
      expect(hit.value?.toString()).toBe('filled');
      expect(hit.lease).toBeUndefined();
    }
  });

  it.skipIf(skip)('expires entries with their TTL', async () => {
    const { generation } = await store.lookup(key('g'));
    await store.store(key('g'), 'short', ['Kit:7'], 50, generation);
    expect((await store.lookup(key('g'))).value?.toString()).toBe('short');
    await new Promise((r) => setTimeout(r, 120));
    expect((await store.lookup(key('g'))).value).toBeNull();
  });

  it.skipIf(skip)('clear drops everything and refuses writes looked up before it', async () => {
    const early = await store.lookup(key('h'));
    const { generation } = await store.lookup(key('i'));
    await store.store(key('i'), 'i', ['Brand:1'], 10_000, generation);
    await store.clear();
    expect((await store.lookup(key('i'))).value).toBeNull();
    expect(await store.store(key('h'), 'h', ['Brand:2'], 10_000, early.generation)).toBe('stale');
  });

  // Redis only: the clock's expiry, which every entry of the bucket needs.
  if (backend === 'redis')
    it.skipIf(skip)(
      "moves a bucket's clock expiry only when an entry would outlive it, and then a slack ahead",
      async () => {
        const all = Array.from({ length: 200 }, (_, n) => key(`slack${n}`));
        const bucket = bucketOfHash(all[0]!, 16);
        const [first, second, third] = all.filter((k) => bucketOfHash(k, 16) === bucket);
        const clock = `${prefix}{rc:${bucket}}:c`;
        const put = async (k: string, ttl: number) =>
          store.store(k, 'v', ['Kit:950'], ttl, (await store.lookup(k)).generation);
        // A fresh epoch for the bucket, so its clock lives only as long as a lookup needs it (60 s).
        await store.clear();
        const before = Date.now();
        expect(await put(first!, 100_000)).toBe('stored');
        const expiry = await redis!.pexpiretime(clock);
        const slack = Math.min(CLOCK_SLACK_MS, 100_000 / 8);
        expect(expiry).toBeGreaterThanOrEqual(before + 100_000 + slack);
        expect(expiry).toBeLessThanOrEqual(Date.now() + 100_000 + slack);
        expect(await redis!.pexpiretime(`${prefix}{rc:${bucket}}:v`)).toBe(expiry);
        // Written later, but its entry expires before the clock does: the clock is left as it was.
        await new Promise((r) => setTimeout(r, 30));
        expect(await put(second!, 100_000)).toBe('stored');
        expect(await redis!.pexpiretime(clock)).toBe(expiry);
        // An entry that would outlive it moves it a slack past that entry.
        const later = Date.now();
        expect(await put(third!, 200_000)).toBe('stored');
        expect(await redis!.pexpiretime(clock)).toBeGreaterThanOrEqual(later + 200_000 + 200_000 / 8);
        await store.invalidate(['Kit:950']);
      },
    );

  // Redis only: the memory store has no keys of its own to inspect.
  if (backend === 'redis')
    it.skipIf(skip)(
      'gives every key a TTL; an invalidated entry is dropped when next read, and its neighbours are served',
      async () => {
        for (let i = 0; i < 20; i++) {
          const { generation } = await store.lookup(key(`k${i}`));
          await store.store(
            key(`k${i}`),
            `v${i}`,
            [`Kit:${100 + (i % 5)}`, 'Kit.list', `Club:${i % 3}`],
            10_000,
            generation,
          );
        }
        const entries = async () => (await keysUnder(redis!, prefix)).filter((k) => /\}:r:/.test(k)).length;
        const written = await entries();
        expect(written).toBeGreaterThanOrEqual(20);
        await store.invalidate(['Club:0', 'Kit:101']);
        const keys = await keysUnder(redis!, prefix);
        for (const k of keys) expect(await redis!.pttl(k), k).toBeGreaterThan(0);
        // The invalidation visited no entry: they are all still there, until read.
        expect(await entries()).toBe(written);
        // Entries of club 0 (i % 3 = 0) and of kit 101 (i % 5 = 1) are gone; the rest stay.
        const values = await Promise.all(Array.from({ length: 20 }, (_, i) => store.lookup(key(`k${i}`))));
        const kept = values.flatMap((v, i) => (v.value ? [i] : []));
        const live = [...Array(20).keys()].filter((i) => i % 3 !== 0 && i % 5 !== 1);
        expect(kept).toEqual(live);
        // Read once, the invalidated ones were deleted.
        expect(await entries()).toBe(written - (20 - live.length));
        // Redis cannot count entries without a scan.
        expect((await store.stats()).entries).toBeNull();
      },
    );
});

/** A Redis store's lease is its server's: the stores of two servers on one prefix do not share it. */
describe('the fill lease across servers', () => {
  const skip = redisAvailable() ? false : redisSkipReason();
  let redis: RedisClient;
  let prefix = '';
  beforeAll(() => {
    if (skip) return;
    prefix = newPrefix();
    redis = testRedis();
  });
  afterAll(async () => {
    if (skip) return;
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it.skipIf(skip)(
    `another server sharing the store finds a lease held until the fill, then the entry${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const store = createRedisResponseStore({ redis, prefix });
      const other = createRedisResponseStore({ redis, prefix });
      for (const forLayer of [false, true]) {
        const k = key(`shared-${forLayer}`);
        const mine = await store.lookup(k, forLayer, 2_000);
        expect(mine.lease).toBe('acquired');
        expect((await other.lookup(k, forLayer, 2_000)).lease).toBe('held');
        expect(await other.lease(k, 2_000)).toBe('held');
        // The fill releases it: the other server then finds the entry, and a later miss leases anew.
        expect(await store.store(k, 'filled', ['Kit:61'], 10_000, mine.generation)).toBe('stored');
        expect((await other.lookup(k, forLayer, 2_000)).value?.toString()).toBe('filled');
        await store.invalidate(['Kit:61']);
        expect((await other.lookup(k, forLayer, 2_000)).lease).toBe('acquired');
      }
    },
  );

  it.skipIf(skip)('a server gives back only its own lease', async () => {
    const store = createRedisResponseStore({ redis, prefix });
    const other = createRedisResponseStore({ redis, prefix });
    const k = key('released');
    expect((await store.lookup(k, true, 2_000)).lease).toBe('acquired');
    await other.release(k); // not the other's to give back
    expect((await other.lookup(k, true, 2_000)).lease).toBe('held');
    await store.release(k);
    expect((await other.lookup(k, true, 2_000)).lease).toBe('acquired');
    expect(await store.lease(k, 2_000)).toBe('held');
  });

  it.skipIf(skip)('a lease that cannot be taken leaves the lookup whole: the miss may still write', async () => {
    const store = createRedisResponseStore({ redis, prefix });
    const k = key('lease-fails');
    await store.clear(); // every bucket's clock started: the lookup is the MGET, then the lease on its own
    const leaseCall = vi.spyOn(redis, 'kvResponseLease').mockRejectedValueOnce(new Error('Connection is closed.'));
    try {
      const missed = await store.lookup(k, false, 2_000);
      expect(leaseCall).toHaveBeenCalledTimes(1);
      // No lease said (the caller asks for it again), and the generation is the bucket's clock.
      expect(missed.lease).toBeUndefined();
      expect(await store.store(k, 'filled', ['Kit:62'], 10_000, missed.generation)).toBe('stored');
      expect((await store.lookup(k)).value?.toString()).toBe('filled');
    } finally {
      leaseCall.mockRestore();
    }
  });
});
