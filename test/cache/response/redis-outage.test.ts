/**
 * Redis going away is an outage of the cache, never of the API: while it is down every request is
 * answered from the database (status 200, the right data, no errors, no waiting on a queue), a
 * mutation still succeeds and the next read shows it, the failures are counted; and when Redis comes
 * back on the same address the client reconnects by itself and caching resumes.
 * The file runs its own redis-server on a free loopback port, so it can kill it.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectRedis, createRedis, type RedisClient } from '../../../src/cache/redis/client.js';
import type { App } from '../../../src/app.js';
import type { Database } from '../../../src/db/client.js';
import { data, gql, testApp, tokensFor, type GqlResult } from '../../helpers/app.js';
import { cachedApp, type CachedApp } from '../../helpers/caches.js';
import { openTestDatabase } from '../../helpers/database.js';
import { freePort, ownRedis, ownRedisSkip, type OwnRedis } from '../../helpers/redis-server.js';

const skip = ownRedisSkip;

const TIMEOUT_MS = 200;
/** Far more than a fail-fast lookup takes (at most TIMEOUT_MS), far less than waiting for Redis. */
const FAIL_FAST_MS = 2_000;

const KIT = 'query($id: ID!) { kit(id: $id) { id name primaryColour club { id name } } }';
const KITS = '{ kits(first: 5, clubId: "3") { totalCount edges { node { id name season { label } } } } }';
const ME = '{ me { username collection(first: 3) { totalCount edges { node { id kit { id name } } } } } }';
const RENAME = 'mutation($id: ID!, $name: String!) { updateKit(input: { id: $id, name: $name }) { id name } }';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let database: Database;
/** The same API without any cache: the truth every cached answer is compared with. */
let plain: App;
let admin: string;
let user: string;

beforeAll(async () => {
  database = await openTestDatabase();
  plain = testApp(database);
  const tokens = await tokensFor(plain, ['admin', 'user7']);
  admin = tokens.get('admin')!.token;
  user = tokens.get('user7')!.token;
});
afterAll(async () => {
  await database?.close();
});

/** Asks the cached app and the uncached one, and expects the same, complete, answer from both. */
async function answersLikeTheDatabase(
  app: App,
  query: string,
  variables: Record<string, unknown> = {},
  token?: string,
) {
  const started = Date.now();
  const r = await gql(app, query, variables, token);
  const took = Date.now() - started;
  expect(r.status).toBe(200);
  expect(r.errors).toBeUndefined();
  expect(r.data).toEqual(await data(plain, query, variables, token));
  expect(took).toBeLessThan(FAIL_FAST_MS);
  return r;
}

describe('response cache through a Redis outage', () => {
  let own: OwnRedis;
  let redis: RedisClient;
  let cached: CachedApp;
  let renamed: string;

  beforeAll(async () => {
    if (skip) return;
    own = await ownRedis();
    await own.start();
    redis = createRedis({ url: own.url, timeoutMs: TIMEOUT_MS });
    expect(await connectRedis(redis)).toBeNull();
    cached = await cachedApp(database, { backend: 'redis', redis, prefix: 'kvoutage:' });
  });
  afterAll(async () => {
    redis?.disconnect();
    await own?.stop();
  });

  it.skipIf(skip)(`caches while Redis is up${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const first = await answersLikeTheDatabase(cached.app, KIT, { id: '31' });
    expect(first.extensions?.responseCache).toMatchObject({ hit: false, didCache: true });
    await cached.caches.settled();
    const second = await answersLikeTheDatabase(cached.app, KIT, { id: '31' });
    expect(second.extensions?.responseCache).toMatchObject({ hit: true });
    expect(cached.caches.counters.get('redis_error')).toBe(0);
  });

  it.skipIf(skip)('answers every query from the database once Redis is killed', async () => {
    await own.stop();
    // Until this instance has seen its links close, its in-process layer may still answer (here
    // nothing is written meanwhile; a write elsewhere answers only once the layer is unusable, see
    // test/cache/response/local-layer.test.ts); from then on it is bypassed.
    await vi.waitFor(() => expect(cached.caches.responseLocal?.channel.live() ?? false).toBe(false), {
      timeout: 5000,
      interval: 10,
    });
    // The query that was a hit a moment ago, a public one never seen, and a private one.
    const again = await answersLikeTheDatabase(cached.app, KIT, { id: '31' });
    expect(again.extensions?.responseCache).toMatchObject({ hit: false });
    await answersLikeTheDatabase(cached.app, KITS);
    const me = await answersLikeTheDatabase(cached.app, ME, {}, user);
    expect(me.data?.me.username).toBe('user7');
    // Twice over, concurrently: nothing queues behind the dead connection.
    const writesBefore = cached.caches.counters.get('response_write');
    const all = await Promise.all(
      [1, 2].flatMap(() => [gql(cached.app, KIT, { id: '31' }), gql(cached.app, KITS), gql(cached.app, ME, {}, user)]),
    );
    for (const r of all) {
      expect(r.status).toBe(200);
      expect(r.errors).toBeUndefined();
    }
    await cached.caches.settled();
    expect(cached.caches.counters.get('response_write')).toBe(writesBefore);
    expect(cached.caches.counters.get('redis_error')).toBeGreaterThan(0);
  });

  it.skipIf(skip)('lets a mutation succeed during the outage, and the next read shows it', async () => {
    const failedBefore = cached.caches.counters.get('response_invalidation_failed');
    renamed = `Renamed while Redis was down ${Date.now()}`;
    const m = await gql(cached.app, RENAME, { id: '31', name: renamed }, admin);
    expect(m.status).toBe(200);
    expect(m.errors).toBeUndefined();
    expect(m.data?.updateKit).toEqual({ id: '31', name: renamed });
    expect(cached.caches.counters.get('response_invalidation_failed') - failedBefore).toBeGreaterThanOrEqual(1);

    const after: GqlResult = await answersLikeTheDatabase(cached.app, KIT, { id: '31' });
    expect(after.data?.kit.name).toBe(renamed);
  });

  it.skipIf(skip)('reconnects by itself when Redis is back on the same port, and caches again', async () => {
    await own.start();
    const deadline = Date.now() + 8_000;
    while (redis.status !== 'ready' && Date.now() < deadline) await sleep(50);
    expect(redis.status).toBe('ready');
    // The circuit breaker lets commands through again once its probe (every second) finds Redis back.
    while (cached.caches.breaker?.current !== 'closed' && Date.now() < deadline) await sleep(50);
    expect(cached.caches.breaker?.current).toBe('closed');

    const errorsBefore = cached.caches.counters.get('redis_error');
    const writesBefore = cached.caches.counters.get('response_write');
    const miss = await answersLikeTheDatabase(cached.app, KIT, { id: '31' });
    expect(miss.extensions?.responseCache).toMatchObject({ hit: false, didCache: true });
    expect(miss.data?.kit.name).toBe(renamed);
    await cached.caches.settled();
    expect(cached.caches.counters.get('response_write') - writesBefore).toBe(1);

    const hit = await answersLikeTheDatabase(cached.app, KIT, { id: '31' });
    expect(hit.extensions?.responseCache).toMatchObject({ hit: true });
    expect(hit.data?.kit.name).toBe(renamed);
    expect(cached.caches.counters.get('redis_error')).toBe(errorsBefore);
  });
});

describe('response cache with a Redis that was never reachable', () => {
  let redis: RedisClient;
  let cached: CachedApp;

  beforeAll(async () => {
    const nobody = await freePort(); // free a moment ago, and nothing listens on it
    redis = createRedis({ url: `redis://127.0.0.1:${nobody}`, timeoutMs: TIMEOUT_MS });
    expect(await connectRedis(redis)).toBeInstanceOf(Error);
    cached = await cachedApp(database, { backend: 'redis', redis, prefix: 'kvnever:' });
  });
  afterAll(() => redis?.disconnect());

  it('answers every request from the database, queries and mutations alike', async () => {
    for (let round = 0; round < 2; round++) {
      const kit = await answersLikeTheDatabase(cached.app, KIT, { id: '32' });
      expect(kit.extensions?.responseCache).toMatchObject({ hit: false });
      await answersLikeTheDatabase(cached.app, KITS);
      await answersLikeTheDatabase(cached.app, ME, {}, user);
      await cached.caches.settled();
    }
    const name = `Renamed with no Redis ${Date.now()}`;
    const m = await gql(cached.app, RENAME, { id: '32', name }, admin);
    expect(m.status).toBe(200);
    expect(m.errors).toBeUndefined();
    const after = await answersLikeTheDatabase(cached.app, KIT, { id: '32' });
    expect(after.data?.kit.name).toBe(name);

    expect(cached.caches.counters.get('response_hit')).toBe(0);
    expect(cached.caches.counters.get('response_write')).toBe(0);
    // Every request found Redis unusable: at most one command waited for it, the rest were short-circuited.
    const { counters } = cached.caches;
    expect(counters.get('redis_error') + counters.get('redis_short_circuit')).toBeGreaterThanOrEqual(7);
    expect(counters.get('redis_error')).toBeLessThanOrEqual(1);
    expect(cached.caches.counters.get('response_invalidation_failed')).toBe(1);
  });
});
