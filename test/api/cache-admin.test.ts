/**
 * Cache administration: ADMIN only (USER and anonymous refused), stats that reflect the caches,
 * purges that drop what they say, and the `npm run cache` commands driven through the app.
 */
import { readFileSync } from 'node:fs';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatStats,
  parseWarmOperations,
  purge,
  stats,
  warm,
  type GraphQLCall,
} from '../../src/cli/cache-commands.js';
import type { Database } from '../../src/db/client.js';
import { data, gql, tokensFor } from '../helpers/app.js';
import { backends, cachedApp, dropPrefix, newPrefix, testRedis, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const STATS =
  '{ cacheStats { id responseCache { id enabled backend entries hits misses hitRate } entityCache { enabled backend } redis { configured reachable } } }';

describe.each(backends())('cache administration on $backend', ({ backend, skip }) => {
  /** The response entries stats report: counted in memory; on Redis, null (not indexed, so not counted without a scan). */
  const countable = (n: number) => (backend === 'redis' ? null : n);
  let redis: RedisClient | undefined;
  let prefix = '';
  let c: CachedApp;
  let admin = '';
  let user = '';
  const call =
    (token: string): GraphQLCall =>
    (query, variables) =>
      gql(c.app, query, variables ?? {}, token);

  beforeAll(async () => {
    if (skip) return;
    prefix = newPrefix();
    if (backend === 'redis') redis = testRedis();
    c = await cachedApp(database, { backend, redis, prefix, entityCache: true });
    const tokens = await tokensFor(c.app, ['admin', 'user5']);
    admin = tokens.get('admin')!.token;
    user = tokens.get('user5')!.token;
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it.skipIf(skip)(
    `refuses every admin operation to USER (FORBIDDEN) and anonymous (UNAUTHENTICATED)${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      for (const op of [STATS, 'mutation { purgeCache(typename: "Kit", id: 1) }', 'mutation { purgeAllCaches }']) {
        expect((await gql(c.app, op, {}, user)).errors?.[0]?.extensions?.code, op).toBe('FORBIDDEN');
        expect((await gql(c.app, op)).errors?.[0]?.extensions?.code, op).toBe('UNAUTHENTICATED');
      }
    },
  );

  it.skipIf(skip)('reports entries, hit rates and Redis reachability, and is never cached itself', async () => {
    await c.caches.admin.purgeAll();
    for (const id of [1, 2, 3]) await data(c.app, `{ kit(id: ${id}) { name } }`);
    await c.caches.settled();
    await data(c.app, '{ kit(id: 1) { name } }');
    const s = (await data(c.app, STATS, {}, admin)).cacheStats;
    expect(s.id).toBe('cache-stats');
    // Redis does not index its entries, so it cannot count them without a scan: null says so.
    expect(s.responseCache).toMatchObject({ id: 'response', enabled: true, backend, entries: countable(3) });
    expect(s.responseCache.hits).toBeGreaterThanOrEqual(1);
    expect(s.responseCache.hitRate).toBeGreaterThan(0);
    expect(s.entityCache).toMatchObject({ enabled: true, backend });
    expect(s.redis).toEqual({ configured: backend === 'redis', reachable: backend === 'redis' });
    const again = await gql(c.app, STATS, {}, admin);
    expect(again.extensions?.responseCache?.hit).not.toBe(true);
  });

  it.skipIf(skip)('purgeCache drops what shows the entity; purgeAllCaches drops everything', async () => {
    const q = '{ kit(id: 2) { name club { name } } }';
    const other = '{ kit(id: 3) { name } }';
    await data(c.app, q);
    await data(c.app, other);
    await c.caches.settled();
    expect((await gql(c.app, q)).extensions?.responseCache?.hit).toBe(true);
    expect((await data(c.app, 'mutation { purgeCache(typename: "Kit", id: "2") }', {}, admin)).purgeCache).toBe(true);
    expect((await gql(c.app, q)).extensions?.responseCache?.hit).toBe(false);
    expect((await gql(c.app, other)).extensions?.responseCache?.hit).toBe(true);
    await c.caches.settled();
    expect((await data(c.app, 'mutation { purgeAllCaches }', {}, admin)).purgeAllCaches).toBe(true);
    expect((await gql(c.app, other)).extensions?.responseCache?.hit).toBe(false);
    const left = (await data(c.app, STATS, {}, admin)).cacheStats.responseCache.entries;
    if (backend === 'redis') expect(left).toBeNull();
    else expect(left).toBeLessThanOrEqual(1);
  });

  it.skipIf(skip)('refuses an unknown typename or malformed id with BAD_USER_INPUT', async () => {
    expect(
      (await gql(c.app, 'mutation { purgeCache(typename: "Nope", id: 1) }', {}, admin)).errors?.[0]?.extensions?.code,
    ).toBe('BAD_USER_INPUT');
    expect(
      (await gql(c.app, 'mutation { purgeCache(typename: "Kit", id: "x") }', {}, admin)).errors?.[0]?.extensions?.code,
    ).toBe('BAD_USER_INPUT');
  });

  it.skipIf(skip)('warms both levels from the operations kept in the repo, with a summary', async () => {
    await c.caches.admin.purgeAll();
    const operations = parseWarmOperations(JSON.parse(readFileSync('ops/warm-operations.json', 'utf8')));
    const seen: number[] = [];
    const summary = await warm(call(admin), operations, (done) => seen.push(done));
    await c.caches.settled();
    expect(summary.failed).toEqual([]);
    expect(summary.ok).toBe(operations.length);
    expect(seen).toEqual(operations.map((_, i) => i + 1));
    const s = await stats(call(admin));
    expect(s.responseCache!.entries).toBe(countable(operations.length));
    for (const op of operations)
      expect((await gql(c.app, op.query, op.variables)).extensions?.responseCache?.hit, op.name).toBe(true);
    expect(formatStats(s)).toMatch(
      backend === 'redis' ? /response cache\s+redis\s+entries\s+n\/a/ : /response cache\s+memory\s+entries\s+\d+/,
    );
    await expect(purge(call(user), 'Kit', '1')).rejects.toThrow(/FORBIDDEN/);
  });
});

describe('warm file', () => {
  it('names the first malformed entry', () => {
    expect(() => parseWarmOperations({})).toThrow(/JSON array/);
    expect(() => parseWarmOperations([{ name: 'a', query: '{ brands { id } }' }, { name: 'b' }])).toThrow(/entry 1/);
  });
});
