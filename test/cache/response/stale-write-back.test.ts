/**
 * No stale write-back: a query that read data before a mutation and finishes after the mutation's
 * invalidation must not store its pre-mutation answer. The interleaving is forced, not timed: the
 * `kit` resolver is held on a promise after it has loaded the row.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { noEdgePurger } from '../../../src/cache/edge/purger.js';
import type { Database } from '../../../src/db/client.js';
import { Query } from '../../../src/resolvers/query.js';
import { data, gql, tokensFor } from '../../helpers/app.js';
import { backends, cachedApp, dropPrefix, newPrefix, testRedis, type CachedApp } from '../../helpers/caches.js';
import { openTestDatabase } from '../../helpers/database.js';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Holds the next `kit` resolution after it has read its row, until released. */
const gate = {
  armed: false,
  reached: deferred(),
  release: deferred(),
  arm() {
    this.armed = true;
    this.reached = deferred();
    this.release = deferred();
  },
};
const originalKit = Query.kit;
vi.spyOn(Query, 'kit').mockImplementation(async (...args: Parameters<typeof originalKit>) => {
  const row = await originalKit(...args);
  if (gate.armed) {
    gate.armed = false;
    gate.reached.resolve();
    await gate.release.promise;
  }
  return row;
});

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const KIT = 'query($id: ID!) { kit(id: $id) { id name } }';
const RENAME = 'mutation($id: ID!, $name: String!) { updateKit(input: { id: $id, name: $name }) { id name } }';

describe.each(backends())('stale write-back on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  let prefix = '';
  let one: CachedApp;
  let two: CachedApp;
  let admin: string;

  beforeAll(async () => {
    if (skip) return;
    prefix = newPrefix();
    if (backend === 'redis') redis = testRedis();
    one = await cachedApp(database, { backend, redis, prefix, edgePurger: noEdgePurger });
    two = await cachedApp(database, { backend, redis, prefix, edgePurger: noEdgePurger });
    admin = (await tokensFor(one.app, ['admin'])).get('admin')!.token;
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  async function interleave(reader: CachedApp, writer: CachedApp, kitId: string) {
    const { kit: original } = await data(reader.app, KIT, { id: kitId });
    await reader.caches.settled();
    // Drop the entry so the held query is a miss that will try to write back.
    await data(writer.app, RENAME, { id: kitId, name: `${original.name} (1)` }, admin);
    const refusedBefore = reader.caches.counters.get('response_write_refused', 'stale');

    gate.arm();
    const held = gql(reader.app, KIT, { id: kitId });
    await gate.reached.promise; // the reader has looked up (miss) and read the row
    await data(writer.app, RENAME, { id: kitId, name: `${original.name} (2)` }, admin);
    gate.release.resolve();
    const stale = await held;
    await reader.caches.settled();

    // The held answer was computed from pre-mutation data…
    expect(stale.data?.kit.name).toBe(`${original.name} (1)`);
    expect(stale.extensions?.responseCache).toMatchObject({ hit: false });
    // …so the edge must not keep it either (a purge may already have passed it).
    expect(stale.headers.get('surrogate-control')).toBe('no-store');
    expect(stale.headers.get('surrogate-key')).toBeNull();
    // …so its write was refused, and the next read is fresh, on both servers.
    expect(reader.caches.counters.get('response_write_refused', 'stale') - refusedBefore).toBe(1);
    for (const app of [reader.app, writer.app]) {
      const next = await gql(app, KIT, { id: kitId });
      expect(next.data?.kit.name).toBe(`${original.name} (2)`);
    }
  }

  it.skipIf(skip)(`refuses the pre-mutation write-back on one server${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    await interleave(one, one, '11');
  });

  if (backend === 'redis') {
    it.skipIf(skip)('refuses it when the mutation ran on another server sharing the Redis', async () => {
      await interleave(one, two, '12');
    });
  }

  it.skipIf(skip)('still stores a query that started after the mutation', async () => {
    await data(one.app, RENAME, { id: '13', name: 'Renamed before the read' }, admin);
    const first = await gql(one.app, KIT, { id: '13' });
    await one.caches.settled();
    const second = await gql(one.app, KIT, { id: '13' });
    expect(first.extensions?.responseCache).toMatchObject({ hit: false, didCache: true });
    // Stored, so the edge may keep it: the next invalidation of its tags purges the edge after the store.
    expect(first.headers.get('surrogate-control')).toMatch(/^max-age=\d+$/);
    expect(first.headers.get('surrogate-key')?.split(' ')).toContain('Kit:13');
    expect(second.extensions?.responseCache).toMatchObject({ hit: true });
    expect(second.data?.kit.name).toBe('Renamed before the read');
  });
});
