/**
 * Redis runs with `allkeys-lru`: any key may go, a bucket's tag versions (which a plain hit never
 * reads) among them. Losing them may cost misses, never a stale answer. Here the eviction is staged
 * by deleting keys (found with SCAN; the API never scans), then a rename goes through the API and
 * every read goes through the front door, lean hit included.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { data, tokensFor } from '../helpers/app.js';
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

const skip = redisAvailable() ? false : redisSkipReason();

const KIT = 'query($id: ID!) { kit(id: $id) { id name } }';
const CLUB_KITS = 'query($c: ID) { kits(clubId: $c, first: 100) { totalCount edges { node { id name } } } }';
const RENAME = 'mutation($id: ID!, $name: String!) { updateKit(input: { id: $id, name: $name }) { id name } }';

let database: Database;
let redis: RedisClient;
let prefix: string;
let reader: CachedApp;
let writer: CachedApp;
let admin: string;

/** A read through the front door (the lean hit first), as a client over HTTP would make it. */
async function ask(c: CachedApp, query: string, variables: Record<string, unknown>) {
  const response = await c.front.fetch('http://kitvault.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as { data: Record<string, any> };
  await c.caches.settled();
  return { data: body.data, cache: response.headers.get('x-cache') };
}

beforeAll(async () => {
  if (skip) return;
  database = await openTestDatabase();
  redis = testRedis();
  prefix = newPrefix();
  reader = await cachedApp(database, { backend: 'redis', redis, prefix });
  writer = await cachedApp(database, { backend: 'redis', redis, prefix });
  admin = (await tokensFor(reader.app, ['admin'])).get('admin')!.token;
});
afterAll(async () => {
  if (redis) {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
  await database?.close();
});

describe("the buckets' tag versions lost", () => {
  it.skipIf(skip)(
    `costs misses, never the old name, when its tag is invalidated${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const { kit } = await data(reader.app, 'query { kit(id: 7) { name club { id } } }');
      const clubId = kit.club.id as string;
      const original = kit.name as string;

      // Cached, and served by the lean hit.
      for (let i = 0; i < 2; i++) {
        await ask(reader, KIT, { id: '7' });
        await ask(reader, CLUB_KITS, { c: clubId });
      }
      expect((await ask(reader, KIT, { id: '7' })).cache).toBe('HIT');
      expect((await ask(reader, CLUB_KITS, { c: clubId })).cache).toBe('HIT');

      // Eviction of the tag versions, in every bucket: the evidence of which tags were invalidated.
      const versions = (await keysUnder(redis, prefix)).filter((k) => /\{rc:\d+\}:v$/.test(k));
      expect(versions.length).toBeGreaterThan(0);
      for (const key of versions) await redis.del(key);

      const renamed = `${original} (after an eviction)`;
      await data(writer.app, RENAME, { id: '7', name: renamed }, admin);
      // The rename's invalidation found each of those buckets without its versions, and fenced it.
      expect(writer.caches.counters.get('response_fence', 'lost')).toBe(versions.length);

      for (const c of [reader, writer]) {
        for (let i = 0; i < 2; i++) {
          const byId = await ask(c, KIT, { id: '7' });
          expect(byId.data.kit.name, `kit(id: 7), x-cache ${byId.cache}`).toBe(renamed);
          const list = await ask(c, CLUB_KITS, { c: clubId });
          const seven = (list.data.kits.edges as { node: { id: string; name: string } }[]).find(
            (e) => e.node.id === '7',
          );
          expect(seven?.node.name, `kits(clubId), x-cache ${list.cache}`).toBe(renamed);
        }
      }
      // And caching goes on: the new answers are hits again.
      expect((await ask(reader, KIT, { id: '7' })).cache).toBe('HIT');
    },
  );
});

describe('the bound on the versions', () => {
  it.skipIf(skip)(
    'set for the app (RESPONSE_MAX_TAG_VERSIONS), it reaches the store: a full bucket is fenced and counted',
    async () => {
      const own = newPrefix();
      // Three fields per bucket at most: "@" and two tags. A club's kits carry dozens of tags.
      const tight = await cachedApp(database, { backend: 'redis', redis, prefix: own, responseMaxTagVersions: 3 });
      try {
        const { kit } = await data(tight.app, 'query { kit(id: 7) { club { id } } }');
        const first = await ask(tight, CLUB_KITS, { c: kit.club.id });
        expect(first.cache).not.toBe('HIT');
        // Its write found the bucket's versions full: refused, and the bucket fenced.
        expect(tight.caches.counters.get('response_fence', 'full')).toBeGreaterThan(0);
        expect((await ask(tight, CLUB_KITS, { c: kit.club.id })).cache).not.toBe('HIT');
      } finally {
        await tight.caches.close();
        await dropPrefix(redis, own);
      }
    },
  );
});
