/**
 * TTL from the schema: an entry lives as long as the shortest `@cacheControl(maxAge)` its operation
 * touched. The apps here scale every TTL by 1/50 (search 30 s → 600 ms, kit 300 s → 6 s, brand
 * 3600 s → 72 s), so expiry is observed in a fraction of a second instead of minutes.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/client.js';
import { CLOCK_SLACK_MS } from '../../../src/cache/response/redis-store.js';
import { INVALIDATION_MEMORY_MS } from '../../../src/cache/response/store.js';
import { data, gql } from '../../helpers/app.js';
import {
  backends,
  cachedApp,
  dropPrefix,
  keysUnder,
  newPrefix,
  testRedis,
  type CachedApp,
} from '../../helpers/caches.js';
import { openTestDatabase } from '../../helpers/database.js';

const SCALE = 0.02;
/** A maxAge from the schema (seconds), as the scaled TTL the apps here give it (ms). */
const scaled = (maxAgeSeconds: number) => Math.round(maxAgeSeconds * 1000 * SCALE);
const SEARCH_TTL = scaled(30);
const KIT_TTL = scaled(300);
const BRAND_TTL = scaled(3600);

const SEARCH_AND_KIT = `query SearchAndKit($text: String!, $id: ID!) {
  search(text: $text, first: 5) { __typename ... on Kit { id name } ... on Club { id name } ... on Brand { id name } ... on Competition { id name } }
  kit(id: $id) { id name }
}`;
const KIT_ONLY = 'query KitOnly($id: ID!) { kit(id: $id) { id name primaryColour } }';
const KIT_WITH_BRAND =
  'query KitWithBrand($id: ID!) { kit(id: $id) { id name brand { id name } season { id label } } }';
const BRANDS = '{ brands { id name } }';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let database: Database;
/** A piece of a kit name, so that `search` finds something. */
let searchText: string;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

describe.each(backends())('response cache TTL on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  const prefixes: string[] = [];
  let a: CachedApp;

  const appWithOwnPrefix = async () => {
    const prefix = newPrefix();
    prefixes.push(prefix);
    return { prefix, ...(await cachedApp(database, { backend, redis, prefix, ttlScale: SCALE })) };
  };

  beforeAll(async () => {
    if (skip) return;
    if (backend === 'redis') redis = testRedis();
    a = await appWithOwnPrefix();
    const { kit } = await data(a.app, 'query($id: ID!) { kit(id: $id) { name } }', { id: '1' });
    searchText = String(kit.name).split(/\s+/)[0]!.slice(0, 4);
  });
  afterAll(async () => {
    if (redis) {
      for (const prefix of prefixes) await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it.skipIf(skip)(`gives an operation the shortest maxAge it touched${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const both = await gql(a.app, SEARCH_AND_KIT, { text: searchText, id: '2' });
    expect(both.errors).toBeUndefined();
    expect(both.data?.search.length).toBeGreaterThan(0);
    expect(both.data?.kit.id).toBe('2');
    expect(both.extensions?.responseCache).toMatchObject({
      hit: false,
      didCache: true,
      ttl: SEARCH_TTL,
      scope: 'PUBLIC',
    });

    const kitOnly = await gql(a.app, KIT_ONLY, { id: '2' });
    expect(kitOnly.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, ttl: KIT_TTL });

    // Brand and Season live an hour, Kit five minutes: the kit decides.
    const kitWithBrand = await gql(a.app, KIT_WITH_BRAND, { id: '2' });
    expect(kitWithBrand.data?.kit.brand.name).toEqual(expect.any(String));
    expect(kitWithBrand.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, ttl: KIT_TTL });

    const brands = await gql(a.app, BRANDS);
    expect(brands.data?.brands.length).toBeGreaterThan(0);
    expect(brands.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, ttl: BRAND_TTL });
    await a.caches.settled();
  });

  it.skipIf(skip)('expires the search entry after search’s TTL while the kit-only entry still hits', async () => {
    const variables = { text: searchText, id: '3' };
    const both = await gql(a.app, SEARCH_AND_KIT, variables);
    const kitOnly = await gql(a.app, KIT_ONLY, { id: '3' });
    expect(both.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, ttl: SEARCH_TTL });
    expect(kitOnly.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, ttl: KIT_TTL });
    await a.caches.settled();

    // Both are stored…
    expect((await gql(a.app, SEARCH_AND_KIT, variables)).extensions?.responseCache).toMatchObject({ hit: true });
    expect((await gql(a.app, KIT_ONLY, { id: '3' })).extensions?.responseCache).toMatchObject({ hit: true });

    // …and once search's TTL has passed, only the entry that touched search is gone.
    await sleep(SEARCH_TTL + 100);
    const bothLater = await gql(a.app, SEARCH_AND_KIT, variables);
    const kitLater = await gql(a.app, KIT_ONLY, { id: '3' });
    expect(bothLater.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, ttl: SEARCH_TTL });
    expect(bothLater.data).toEqual(both.data);
    expect(kitLater.extensions?.responseCache).toMatchObject({ hit: true });
    expect(kitLater.data).toEqual(kitOnly.data);
    await a.caches.settled();
  });

  if (backend === 'redis') {
    it.skipIf(skip)(
      'sets the Redis entry to expire within the scaled TTL, and nothing it wrote outlives it',
      async () => {
        for (const [query, variables, ttl] of [
          [SEARCH_AND_KIT, { text: searchText, id: '4' }, SEARCH_TTL],
          [KIT_ONLY, { id: '4' }, KIT_TTL],
        ] as const) {
          // One app per operation, under its own prefix: the one entry key there is this operation's.
          const own = await appWithOwnPrefix();
          const r = await gql(own.app, query, variables);
          expect(r.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, ttl });
          await own.caches.settled();

          const keys = await keysUnder(redis!, own.prefix);
          const entries = keys.filter((k) => k.includes('}:r:'));
          expect(entries).toHaveLength(1);
          const entryTtl = await redis!.pttl(entries[0]!);
          expect(entryTtl).toBeGreaterThan(0);
          expect(entryTtl).toBeLessThanOrEqual(ttl);
          // The bucket's clock and versions outlive it by at most a slack (so the next writes need
          // not extend them), or by what a lookup gives a bucket it starts (a query's write may follow
          // it for that long).
          const slack = Math.min(CLOCK_SLACK_MS, Math.ceil(ttl / 8));
          for (const key of keys) {
            const pttl = await redis!.pttl(key);
            expect(pttl, key).toBeGreaterThan(0);
            const bucketKey = /\}:[cv]$/.test(key);
            expect(pttl, key).toBeLessThanOrEqual(
              bucketKey ? Math.max(INVALIDATION_MEMORY_MS, ttl + slack) : ttl + slack,
            );
          }
        }
      },
    );
  }
});
