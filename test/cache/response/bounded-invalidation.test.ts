/**
 * Invalidation whose cost does not grow with the number of entries (Redis store, real Redis): per
 * bucket one script, handed the bucket's clock and versions and nothing else, which visits no entry
 * (on a single Redis one script does it for every bucket, handed their clocks and versions).
 * Entries are found out when read; only the buckets where an invalidated tag was written pay a check
 * on their next hits. Never a stale answer on the way.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisResponseStore, type FenceReason } from '../../../src/cache/response/redis-store.js';
import type { ResponseStore } from '../../../src/cache/response/store.js';
import { mulberry32 } from '../../../src/db/seed.js';
import {
  clusterMode,
  dropPrefix,
  keysUnder,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
} from '../../helpers/caches.js';

const skip = redisAvailable() ? false : redisSkipReason();
const BUCKETS = 4;
const LONG = 60_000;

let redis: RedisClient;
let prefix: string;
let store: ResponseStore;
let fences: string[] = [];
let touched: number[] = [];

/** A key that is its own hash (32 hex digits) in bucket `b` of BUCKETS: its first 32 bits modulo 4. */
const inBucket = (b: number, n: number) => `0000000${b}${n.toString(16).padStart(24, '0')}`;

/** The commands this connection sends, by name, until restored. */
function sentCommands() {
  const sent = vi.spyOn(redis, 'sendCommand');
  const commands = () => sent.mock.calls.map(([command]) => command);
  return {
    /** Script calls read 'script' (ioredis sends the first of each as EVAL, later ones as EVALSHA). */
    names: (): string[] => commands().map((c) => (c.name === 'evalsha' || c.name === 'eval' ? 'script' : c.name)),
    /** The numKeys argument of each script call. */
    scriptKeys: (): number[] =>
      commands()
        .filter((c) => c.name === 'evalsha' || c.name === 'eval')
        .map((c) => Number(c.args[1])),
    restore: () => sent.mockRestore(),
  };
}

/** A fill as a server makes it: a lookup, then a write under its generation (through `into`, or this store). */
async function put(key: string, value: string, tags: string[], into: ResponseStore = store) {
  const { generation } = await into.lookup(key);
  return into.store(key, value, tags, LONG, generation);
}
const value = async (key: string) => (await store.lookup(key)).value?.toString() ?? null;
const entryKeys = async () => (await keysUnder(redis, prefix)).filter((k) => k.includes('}:r:'));

function fresh(maxVersions?: number) {
  prefix = newPrefix();
  fences = [];
  touched = [];
  store = createRedisResponseStore({
    redis,
    prefix,
    buckets: BUCKETS,
    ...(maxVersions !== undefined ? { maxVersions } : {}),
    onFence: (b: number, reason: FenceReason) => fences.push(`${b}:${reason}`),
    onTouched: (b: number) => touched.push(b),
  });
}

beforeAll(() => {
  if (skip) return;
  redis = testRedis();
});
afterEach(async () => {
  if (skip) return;
  // A test that failed first left its spies on the shared connection.
  vi.restoreAllMocks();
  await dropPrefix(redis, prefix);
});
afterAll(() => redis?.disconnect());

describe('bounded invalidation', () => {
  it.skipIf(skip)(
    `is one script per bucket handed its two keys (one for every bucket on a single Redis), at 40 entries as at 400, and deletes none${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const costs: { names: string[]; keys: number[] }[] = [];
      for (const size of [40, 400]) {
        fresh();
        await Promise.all(
          Array.from({ length: size }, (_, i) => put(`list${i}`, `L${i}`, ['Kit.list', `Kit:${i % 20}`])),
        );
        const written = (await entryKeys()).length;
        expect(written).toBe(size);
        const sent = sentCommands();
        await store.invalidate(['Kit.list', 'Kit:3']);
        costs.push({ names: sent.names(), keys: sent.scriptKeys() });
        sent.restore();
        // No entry was visited: every one is still in Redis, and not one of them is served.
        expect((await entryKeys()).length).toBe(written);
        for (let i = 0; i < size; i += 7) expect(await value(`list${i}`), `list${i}`).toBeNull();
        await dropPrefix(redis, prefix);
      }
      if (clusterMode()) {
        expect(costs[0]!.names).toEqual(Array(BUCKETS).fill('script'));
        expect(costs[0]!.keys).toEqual(Array(BUCKETS).fill(2));
      } else {
        expect(costs[0]!.names).toEqual(['script']);
        expect(costs[0]!.keys).toEqual([2 * BUCKETS]);
      }
      expect(costs[1]).toEqual(costs[0]);
      expect(fences).toEqual([]);
    },
  );

  it.skipIf(skip)(
    'only the buckets where the tag was written check their hits; elsewhere a hit stays one MGET',
    async () => {
      fresh();
      for (let b = 0; b < BUCKETS; b++)
        for (let n = 0; n < 3; n++) expect(await put(inBucket(b, n), `${b}.${n}`, [`Brand:${b}`])).toBe('stored');
      expect(await put(inBucket(0, 9), 'club', ['Club:9', 'Brand:0'])).toBe('stored');
      await store.invalidate(['Club:9']);
      // Every bucket's counter moved (a write in flight anywhere is judged by it), but only bucket 0
      // had an entry carrying Club:9.
      expect(touched).toEqual([0]);
      const sent = sentCommands();
      for (let b = 1; b < BUCKETS; b++)
        for (let n = 0; n < 3; n++) expect(await value(inBucket(b, n))).toBe(`${b}.${n}`);
      expect(sent.names()).toEqual(Array(3 * (BUCKETS - 1)).fill('mget'));
      sent.restore();
      // In bucket 0, the first hit of each entry is checked by a script (its tags' versions), then
      // restamped: its next hit is one MGET again.
      const first = sentCommands();
      for (let n = 0; n < 3; n++) expect(await value(inBucket(0, n))).toBe(`0.${n}`);
      expect(first.scriptKeys()).toEqual([4, 4, 4]); // entry, clock, versions and the fill lease
      first.restore();
      const again = sentCommands();
      for (let n = 0; n < 3; n++) expect(await value(inBucket(0, n))).toBe(`0.${n}`);
      expect(again.names()).toEqual(['mget', 'mget', 'mget']);
      again.restore();
      // The entry that carried it is a miss, and is deleted by the read that found it out.
      expect(await value(inBucket(0, 9))).toBeNull();
      expect((await entryKeys()).length).toBe(3 * BUCKETS);
    },
  );

  it.skipIf(skip)(
    "a tag's mark goes with its invalidation, and comes back with the next entry that carries it",
    async () => {
      fresh();
      expect(await put(inBucket(1, 1), 'one', ['Club:9'])).toBe('stored');
      await store.invalidate(['Club:9']);
      expect(touched).toEqual([1]);
      // Nothing written under Club:9 since: its next invalidation concerns no bucket's hits.
      await store.invalidate(['Club:9']);
      expect(touched).toEqual([1]);
      expect(await put(inBucket(2, 1), 'two', ['Club:9'])).toBe('stored');
      await store.invalidate(['Club:9']);
      expect(touched).toEqual([1, 2]);
      expect(await value(inBucket(2, 1))).toBeNull();
    },
  );

  it.skipIf(skip)(
    'refuses a write looked up before an invalidation of its tag, in a bucket that had none',
    async () => {
      fresh();
      // The tag was never written anywhere, so no stamp moves; its version still refuses the write.
      const before = await store.lookup(inBucket(3, 1));
      await store.invalidate(['Kit:77']);
      expect(touched).toEqual([]);
      expect(await store.store(inBucket(3, 1), 'stale', ['Kit:77'], LONG, before.generation)).toBe('stale');
      expect(await value(inBucket(3, 1))).toBeNull();
      expect(await put(inBucket(3, 1), 'fresh', ['Kit:77'])).toBe('stored');
      expect(await value(inBucket(3, 1))).toBe('fresh');
    },
  );

  it.skipIf(skip)(
    'a bucket whose versions are full starts a new epoch: a miss each, never a stale answer',
    async () => {
      fresh(3);
      expect(await put(inBucket(0, 1), 'kept?', ['Brand:1'])).toBe('stored');
      const before = await store.lookup(inBucket(0, 2));
      // "@" and Brand:1 are two fields; a third fills bucket 0's hash, a fourth would take it past 3.
      await store.invalidate(['Kit:1']);
      expect(fences).toEqual([]);
      await store.invalidate(['Kit:4']);
      // The other buckets hold nothing (no clock): an invalidation has nothing to do there.
      expect(fences).toEqual(['0:full']);
      expect(await redis.hlen(`${prefix}{rc:0}:v`)).toBe(1); // the new epoch's "@" alone
      expect(await value(inBucket(0, 1))).toBeNull();
      expect(await store.store(inBucket(0, 2), 'stale', ['Kit:4'], LONG, before.generation)).toBe('stale');
      expect(await put(inBucket(0, 1), 'again', ['Brand:1'])).toBe('stored');
      expect(await value(inBucket(0, 1))).toBe('again');
    },
  );

  it.skipIf(skip)(
    'writes cannot grow the versions past the bound either: the write that finds them full fences',
    async () => {
      fresh(4);
      // Each distinct tag written is a field (its mark): "@" and three more fill bucket 0's hash.
      for (let n = 0; n < 3; n++) expect(await put(inBucket(0, n), `v${n}`, [`Kit:${n}`])).toBe('stored');
      expect(await redis.hlen(`${prefix}{rc:0}:v`)).toBe(4);
      expect(await put(inBucket(0, 9), 'over', ['Kit:9'])).toBe('fenced');
      expect(fences).toEqual(['0:full']);
      expect(await redis.hlen(`${prefix}{rc:0}:v`)).toBe(1);
      for (let n = 0; n < 3; n++) expect(await value(inBucket(0, n))).toBeNull();
      expect(await put(inBucket(0, 9), 'again', ['Kit:9'])).toBe('stored');
    },
  );

  it.skipIf(skip)('buckets fed the same invalidations fill up one after another, not all at once', async () => {
    fresh(8);
    // One entry per bucket: "@" and its tag, two fields each. The bounds: 8, 7, 6 and 5 for buckets 0 to 3.
    for (let b = 0; b < BUCKETS; b++) expect(await put(inBucket(b, 1), `${b}`, [`Brand:${b}`])).toBe('stored');
    const fencedAt: number[][] = [];
    for (let k = 0; k < 8; k++) {
      const before = fences.length;
      await store.invalidate([`Kit:${k}`]);
      fencedAt.push(fences.slice(before).map((f) => Number(f.split(':')[0])));
    }
    // Each invalidation adds a field everywhere; a bucket fences when one would take it past its bound.
    expect(fencedAt).toEqual([[], [], [], [3], [2], [1], [0], []]);
  });

  it.skipIf(skip)(
    'the first lookup in a bucket nobody used starts it (a script); the next ones are one MGET',
    async () => {
      fresh();
      const first = sentCommands();
      expect(await value(inBucket(1, 1))).toBeNull();
      expect(first.names()).toEqual(['mget', 'script']);
      first.restore();
      const next = sentCommands();
      expect(await value(inBucket(1, 2))).toBeNull();
      expect(next.names()).toEqual(['mget']);
      next.restore();
      expect(fences).toEqual([]);
    },
  );

  it.skipIf(skip)('a tag named "@" is never stored, and invalidating it fences nothing', async () => {
    fresh();
    expect(await put(inBucket(1, 1), 'at', ['@'])).toBe('unfit');
    expect(await put(inBucket(1, 2), 'kept', ['Kit:1'])).toBe('stored');
    await store.invalidate(['@']);
    // The bucket's epoch is intact: a write there is not refused, and nothing was fenced.
    expect(await put(inBucket(1, 3), 'more', ['Kit:2'])).toBe('stored');
    expect(fences).toEqual([]);
    expect(await value(inBucket(1, 2))).toBe('kept');
  });

  it.skipIf(skip)(
    "splits a large invalidation into batches no bigger than one bucket's script takes, and drops every batch's tags",
    async () => {
      fresh();
      const tags = Array.from({ length: 2_100 }, (_, i) => `Kit:${i}`);
      // A tag at the start, the middle and the very end of the list, each on an entry of another bucket.
      expect(await put(inBucket(0, 1), 'first', ['Kit:0'])).toBe('stored');
      expect(await put(inBucket(1, 1), 'middle', ['Kit:1050'])).toBe('stored');
      expect(await put(inBucket(3, 1), 'last', ['Kit:2099'])).toBe('stored');
      expect(await put(inBucket(2, 1), 'other', ['Club:1'])).toBe('stored');
      const sent = sentCommands();
      await store.invalidate(tags);
      // 2,000 tags per call to a bucket's script (4 buckets x 2 calls); 2,000 tag-bucket pairs per
      // call to the script for every bucket (500 tags: 5 calls).
      expect(sent.names()).toEqual(Array(clusterMode() ? 2 * BUCKETS : 5).fill('script'));
      sent.restore();
      expect(await value(inBucket(0, 1))).toBeNull();
      expect(await value(inBucket(1, 1))).toBeNull();
      expect(await value(inBucket(3, 1))).toBeNull();
      expect(await value(inBucket(2, 1))).toBe('other');
      expect(fences).toEqual([]);
    },
  );

  it.skipIf(skip)('purge-all is one script per bucket whatever the size, and serves nothing after it', async () => {
    fresh();
    for (let i = 0; i < 40; i++) await put(`e${i}`, `E${i}`, [`Kit:${i}`]);
    const sent = sentCommands();
    await store.clear();
    expect(sent.scriptKeys()).toEqual(Array(BUCKETS).fill(2));
    sent.restore();
    for (let i = 0; i < 40; i++) expect(await value(`e${i}`)).toBeNull();
    expect(fences).toEqual([]);
  });
});

describe('randomised against a model', () => {
  it.skipIf(skip)(
    '0 stale answers over fills, invalidations, checks and racing write-backs on two servers',
    async () => {
      fresh();
      const otherRedis = testRedis();
      const other = createRedisResponseStore({ redis: otherRedis, prefix, buckets: BUCKETS });
      const seed = Number(process.env.BOUNDED_SEED ?? Date.now() % 1_000_000);
      const random = mulberry32(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
      const TAGS = ['Kit.list', 'Club:1', 'Club:2', 'Kit:1', 'Kit:2', 'Kit:3', 'Season:1'];
      const servers = [store, other];
      /** What the store may serve per key: the value written since the last invalidation of any of its tags. */
      const model = new Map<string, { value: string; tags: string[] }>();
      let stale = 0;
      let served = 0;
      let raced = 0;
      try {
        for (let step = 0; step < 1500; step++) {
          const r = random();
          const key = `q${Math.floor(random() * 60)}`;
          const server = pick(servers);
          const tagsOf = () => [...new Set([pick(TAGS), pick(TAGS), ...(random() < 0.5 ? ['Kit.list'] : [])])];
          if (r < 0.4) {
            const tags = tagsOf();
            const v = `${key}@${step}`;
            if ((await put(key, v, tags, server)) === 'stored') model.set(key, { value: v, tags });
          } else if (r < 0.5) {
            // A write-back that read before an invalidation of one of its tags (on the other server): refused.
            const tags = tagsOf();
            const { generation } = await server.lookup(key);
            const dropped = [pick(tags)];
            await pick(servers).invalidate(dropped);
            for (const [k, e] of model) if (e.tags.some((t) => dropped.includes(t))) model.delete(k);
            if ((await server.store(key, `${key}@${step}!`, tags, LONG, generation)) === 'stored') stale += 1;
            raced += 1;
          } else if (r < 0.6) {
            const tags = [pick(TAGS)];
            await server.invalidate(tags);
            for (const [k, e] of model) if (e.tags.some((t) => tags.includes(t))) model.delete(k);
          } else {
            const got = (await server.lookup(key)).value?.toString() ?? null;
            if (got !== null) {
              served += 1;
              if (got !== model.get(key)?.value) stale += 1;
            }
          }
        }
      } finally {
        otherRedis.disconnect();
      }
      expect(stale, `seed ${seed}`).toBe(0);
      expect(served, `seed ${seed}`).toBeGreaterThan(30);
      expect(raced, `seed ${seed}`).toBeGreaterThan(50);
    },
  );
});
