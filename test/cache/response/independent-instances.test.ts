/**
 * The response cache keeps nothing module-wide: two apps in one process, sharing the schema, each
 * tag by their own field tag table, and requests of one are never seen by the other.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/client.js';
import { backends, cachedApp, dropPrefix, newPrefix, testRedis, type CachedApp } from '../../helpers/caches.js';
import { openTestDatabase } from '../../helpers/database.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const BRANDS = '{ brands { id name } }';
const ask = async (c: CachedApp) => {
  const response = await c.front.fetch('http://kitvault.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ query: BRANDS }),
  });
  await response.text();
  await c.caches.settled();
  return response.headers.get('x-cache');
};

describe.each(backends())('two response caches in one process on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  let domain: CachedApp;
  let custom: CachedApp;
  const prefixes: string[] = [];

  beforeAll(async () => {
    if (skip) return;
    if (backend === 'redis') redis = testRedis();
    // Separate key prefixes: the two apps are two deployments, not two servers of one.
    prefixes.push(newPrefix(), newPrefix());
    domain = await cachedApp(database, { backend, redis, prefix: prefixes[0] });
    custom = await cachedApp(database, {
      backend,
      redis,
      prefix: prefixes[1],
      fieldTags: { 'Query.brands': () => ['Custom.brands'] },
    });
  });
  afterAll(async () => {
    if (redis) {
      for (const p of prefixes) await dropPrefix(redis, p);
      redis.disconnect();
    }
  });

  it.skipIf(skip)(`tags each app's entries by its own table${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    expect([await ask(domain), await ask(domain)]).toEqual(['MISS', 'HIT']);
    expect([await ask(custom), await ask(custom)]).toEqual(['MISS', 'HIT']);

    // The domain's list tag drops the domain app's entry only…
    await domain.caches.responseStore!.invalidate(['Brand.list']);
    await custom.caches.responseStore!.invalidate(['Brand.list']);
    expect(await ask(domain)).toBe('MISS');
    expect(await ask(custom)).toBe('HIT');

    // …and the custom table's tag drops the custom app's entry only.
    await domain.caches.responseStore!.invalidate(['Custom.brands']);
    await custom.caches.responseStore!.invalidate(['Custom.brands']);
    expect(await ask(domain)).toBe('HIT');
    expect(await ask(custom)).toBe('MISS');
  });

  it.skipIf(skip)('refuses a table that names a field the schema does not have', async () => {
    await expect(
      cachedApp(database, { backend, redis, prefix: prefixes[1], fieldTags: { 'Query.nope': () => ['x'] } }),
    ).rejects.toThrow(/Query\.nope/);
  });
});
