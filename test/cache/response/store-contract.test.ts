/**
 * The response store contract, run against the Redis store (real Redis) and the in-memory store alike.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMemoryResponseStore } from '../../../src/cache/response/memory-store.js';
import {
  bucketOfHash,
  createRedisResponseStore,
  HASH_DIGITS,
  INDEX_SLACK_MS,
} from '../../../src/cache/response/redis-store.js';
import type { ResponseStore } from '../../../src/cache/response/store.js';
import { responseCacheKey } from '../../../src/cache/response/key.js';
import { backends, dropPrefix, keysUnder, newPrefix, testRedis } from '../../helpers/caches.js';

const key = (n: string) => responseCacheKey({ documentString: `{ q${n} }` });
/** A write tidies its indexes when the entry's name in Redis (its key's first 128 bits) ends in 0. */
const tidies = (k: string) => k.slice(0, HASH_DIGITS).endsWith('0');

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
    expect(await store.store(key('e'), 'stale', ['Kit:5', 'Club:9'], 10_000, before.generation)).toBe('refused');
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

  it.skipIf(skip)('never serves an entry after the invalidation of a tag holding a newline, even lazily', async () => {
    // Every invalidation lazy (an index of any size is left to the sweep): the path that reads tags back.
    const lazy = redis ? createRedisResponseStore({ redis, prefix, eagerLimit: 0, sweepIntervalMs: 0 }) : store;
    const tag = 'Club.country:north\nfield';
    const { generation } = await lazy.lookup(key('n'));
    const outcome = await lazy.store(key('n'), 'newline', [tag], 10_000, generation);
    // Redis keeps an entry's tags as one newline-separated list, so it cannot store this one.
    expect(outcome).toBe(redis ? 'refused' : 'stored');
    await lazy.invalidate([tag]);
    expect((await lazy.lookup(key('n'))).value).toBeNull();
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
    expect(await store.store(key('h'), 'h', ['Brand:2'], 10_000, early.generation)).toBe('refused');
  });

  // Redis only: expired members leave an index a bounded batch at a time, on the writes that tidy.
  if (backend === 'redis')
    it.skipIf(skip)('drops expired members from an index when a later write tidies it', async () => {
      // Keys of one bucket (of the default 16), the last one of the writes that tidy.
      const bucket = (k: string) => bucketOfHash(k, 16);
      const all = Array.from({ length: 4000 }, (_, n) => key(`tidy${n}`));
      const tidying = all.find(tidies)!;
      const same = all.filter((k) => bucket(k) === bucket(tidying) && !tidies(k));
      const put = async (k: string, ttl: number) =>
        store.store(k, 'v', ['Kit:900'], ttl, (await store.lookup(k)).generation);
      expect(await put(same[0]!, 10_000)).toBe('stored'); // keeps the index alive
      for (const k of same.slice(1, 41)) expect(await put(k, 30)).toBe('stored');
      await new Promise((r) => setTimeout(r, 80));
      const index = `${prefix}{rc:${bucket(tidying)}}:t:Kit:900`;
      expect(await redis!.zcard(index)).toBe(41);
      expect(await put(tidying, 10_000)).toBe('stored');
      expect(await redis!.zcard(index)).toBe(2);
      await store.invalidate(['Kit:900']);
    });

  // Redis only: a write extends its indexes' expiry only past what the manifest vouches for.
  if (backend === 'redis')
    it.skipIf(skip)("moves an index's expiry only when an entry would outlive it, and then a slack ahead", async () => {
      const all = Array.from({ length: 200 }, (_, n) => key(`slack${n}`)).filter((k) => !tidies(k));
      const [first, second, third] = all.filter((k) => bucketOfHash(k, 16) === bucketOfHash(all[0]!, 16));
      const index = `${prefix}{rc:${bucketOfHash(first!, 16)}}:t:Kit:950`;
      const put = async (k: string, ttl: number) =>
        store.store(k, 'v', ['Kit:950'], ttl, (await store.lookup(k)).generation);
      const before = Date.now();
      expect(await put(first!, 10_000)).toBe('stored');
      const expiry = await redis!.pexpiretime(index);
      const slack = Math.min(INDEX_SLACK_MS, 10_000 / 8);
      expect(expiry).toBeGreaterThanOrEqual(before + 10_000 + slack);
      expect(expiry).toBeLessThanOrEqual(Date.now() + 10_000 + slack);
      // Written later, but its entry expires before the index does: the index is left as it was.
      await new Promise((r) => setTimeout(r, 30));
      expect(await put(second!, 10_000)).toBe('stored');
      expect(await redis!.pexpiretime(index)).toBe(expiry);
      // An entry that would outlive it moves it a slack past that entry.
      const later = Date.now();
      expect(await put(third!, 20_000)).toBe('stored');
      expect(await redis!.pexpiretime(index)).toBeGreaterThanOrEqual(later + 20_000 + 20_000 / 8);
      await store.invalidate(['Kit:950']);
    });

  // Redis only: the memory store has no keys of its own to inspect.
  if (backend === 'redis')
    it.skipIf(skip)(
      'gives every key a TTL; an index keeps a dropped entry only until that entry would have expired',
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
        await store.invalidate(['Club:0', 'Kit:101']);
        const keys = await keysUnder(redis!, prefix);
        expect(keys.length).toBeGreaterThan(0);
        for (const k of keys) expect(await redis!.pttl(k), k).toBeGreaterThan(0);
        // The invalidated tags' indexes are gone, and the index every entry is in names live entries
        // only (so `stats` counts them). Other indexes may still name a dropped entry (it is not worth
        // a round trip to read its tags): until the time that entry would have expired, no longer.
        expect(keys.filter((k) => k.endsWith('}:t:Club:0') || k.endsWith('}:t:Kit:101'))).toEqual([]);
        let dangling = 0;
        for (const index of keys.filter((k) => k.includes('}:t:'))) {
          const base = index.slice(0, index.indexOf('}:t:') + 2);
          const members = await redis!.zrange(index, 0, -1, 'WITHSCORES');
          for (let m = 0; m < members.length; m += 2) {
            if (await redis!.exists(`${base}e:${members[m]}`)) continue;
            expect(index.endsWith('}:t:*'), `${index} → ${members[m]}`).toBe(false);
            expect(Number(members[m + 1])).toBeLessThanOrEqual(Date.now() + 10_000);
            dangling += 1;
          }
        }
        expect(dangling).toBeGreaterThan(0);
        const live = [...Array(20).keys()].filter((i) => i % 3 !== 0 && i % 5 !== 1);
        expect((await store.stats()).entries).toBe(live.length);
        // Entries of club 0 (i % 3 = 0) and of kit 101 (i % 5 = 1) are gone; the rest stay.
        const values = await Promise.all(Array.from({ length: 20 }, (_, i) => store.lookup(key(`k${i}`))));
        const kept = values.flatMap((v, i) => (v.value ? [i] : []));
        expect(kept).toEqual([...Array(20).keys()].filter((i) => i % 3 !== 0 && i % 5 !== 1));
      },
    );
});
