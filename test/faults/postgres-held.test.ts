/**
 * Postgres held: the link stays open but delivers no byte either way (a black hole), so neither an
 * error nor the server's own statement_timeout ever reaches the API. Every request that needs the
 * database still answers within DATABASE_TIMEOUT_MS (plus a generous margin): HTTP 200 with the
 * failed fields DATABASE_UNAVAILABLE, never a 500, never a hang, more requests than the pool has
 * connections included; nothing is cached; /ready names postgres; the connections stuck on the held
 * link are dropped; and once healed, the same app answers reads and writes correctly.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { App } from '../../src/app.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { data, gql, testApp, tokensFor, type GqlResult } from '../helpers/app.js';
import {
  cachedApp,
  dropPrefix,
  newPrefix,
  redisAvailable,
  testRedis,
  type CacheBackend,
  type CachedApp,
} from '../helpers/caches.js';
import { addressOf, openTestDatabase, throughPort, type TestDatabase } from '../helpers/database.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const TIMEOUT_MS = 500;
/** "Answered within a generous bound", not a speed claim. */
const BOUND_MS = TIMEOUT_MS + 1000;
const MAX_CONNECTIONS = 3;
const skip = inject('pgTemplate') ? false : inject('pgAbsentReason');
const backend: CacheBackend = redisAvailable() ? 'redis' : 'memory';

/** Never-seen queries over every kind of read (by id, relation lists, SQL-paged lists, search); `n` varies them. */
const queries = (n: number) => [
  `{ club(id: ${n}) { id name kits(first: 5) { edges { node { id name } } } } }`,
  `{ kit(id: ${10 + n}) { id name club { name } season { label } competitions { name } } }`,
  `{ kits(first: 3, clubId: "${n}") { totalCount edges { node { id name } } } }`,
  `{ search(text: "a", first: ${n}) { __typename ... on Club { id name } ... on Kit { id name } } }`,
  `{ seasons(clubId: "${n}") { id label } }`,
];
const QUERIES = queries(4);
const ME = '{ me { username collection(first: 2) { totalCount edges { node { id } } } } }';
const RENAME = 'mutation($name: String!) { updateKit(input: { id: "23", name: $name }) { id name } }';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function timed<T>(work: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = Date.now();
  const result = await work();
  return { result, ms: Date.now() - started };
}

function expectUnavailable(r: GqlResult) {
  expect(r.status).toBe(200);
  expect(r.errors?.length).toBeGreaterThan(0);
  for (const e of r.errors!) {
    expect(e.message).toBe('The database is unavailable; try again shortly');
    expect(e.extensions).toEqual({ code: 'DATABASE_UNAVAILABLE' });
  }
}

let database: TestDatabase;
let truth: App;
let proxy: TcpProxy;
let proxied: Database;
let cached: CachedApp;
let redis: RedisClient | undefined;
let admin = '';
let user = '';
const prefix = newPrefix();

beforeAll(async () => {
  database = await openTestDatabase();
  if (skip) return;
  truth = testApp(database);
  const tokens = await tokensFor(truth, ['admin', 'user9']);
  admin = tokens.get('admin')!.token;
  user = tokens.get('user9')!.token;
  proxy = await startTcpProxy(addressOf(database.url!));
  proxied = await openDatabase({
    url: throughPort(database.url!, proxy.port),
    maxConnections: MAX_CONNECTIONS,
    timeoutMs: TIMEOUT_MS,
  });
  if (backend === 'redis') redis = testRedis();
  cached = await cachedApp(proxied, { backend, redis, prefix, responseCache: true, entityCache: true });
});
afterAll(async () => {
  proxy?.heal();
  await proxied?.close();
  await proxy?.close();
  if (redis) {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
  await database?.close();
});

describe(`Postgres held (caches on ${backend})`, () => {
  it.skipIf(skip)(`answers while the link is open${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    // The pool is warm: its connections are open through the proxy when the link is held.
    const r = await gql(cached.app, '{ brands { id name } }');
    expect(r.errors).toBeUndefined();
    await cached.caches.settled();
    expect(proxy.connections).toBeGreaterThan(0);
  });

  it.skipIf(skip)('answers never-seen queries within the bound with DATABASE_UNAVAILABLE', async () => {
    const writes = cached.caches.counters.get('response_write');
    const fills = cached.caches.counters.get('entity_fill');
    proxy.hold();
    // One at a time, then all at once (more requests than the pool has connections).
    for (const query of QUERIES) {
      const { result, ms } = await timed(() => gql(cached.app, query));
      expectUnavailable(result);
      expect(ms).toBeLessThan(BOUND_MS);
    }
    // Distinct documents: identical ones would be coalesced by the response cache, whose waiters
    // execute again when their leader fails (so they take twice the bound; see the report).
    const { result: all, ms } = await timed(() =>
      Promise.all([5, 6, 7].flatMap((n) => queries(n)).map((q) => gql(cached.app, q))),
    );
    expect(ms).toBeLessThan(BOUND_MS);
    for (const r of all) expectUnavailable(r);
    await cached.caches.settled();
    expect(cached.caches.counters.get('response_write') - writes).toBe(0);
    expect(cached.caches.counters.get('entity_fill') - fills).toBe(0);
  });

  it.skipIf(skip)('answers a private query and a mutation within the bound, committing nothing', async () => {
    const me = await timed(() => gql(cached.app, ME, {}, user));
    expectUnavailable(me.result);
    expect(me.result.errors![0]!.path).toEqual(['me']);
    expect(me.ms).toBeLessThan(BOUND_MS);

    const m = await timed(() => gql(cached.app, RENAME, { name: 'Renamed while held' }, admin));
    expectUnavailable(m.result);
    expect(m.ms).toBeLessThan(BOUND_MS);
    expect(m.result.data).toBeNull();
  });

  it.skipIf(skip)('says at /ready, within its own timeout, that postgres is failing', async () => {
    const { result: r, ms } = await timed(async () => cached.app.fetch('http://kitvault.test/ready'));
    expect(r.status).toBe(503);
    const body = (await r.json()) as { ready: boolean; checks: Record<string, string> };
    expect(body.ready).toBe(false);
    expect(body.checks.postgres).toMatch(/^failing/);
    expect(ms).toBeLessThan(BOUND_MS);
  });

  it.skipIf(skip)('drops the connections stuck on the held link', async () => {
    // Each sent something and heard nothing for the bound: none is kept for later requests.
    const deadline = Date.now() + 4 * TIMEOUT_MS + 2000;
    while (proxy.connections > 0 && Date.now() < deadline) await sleep(50);
    expect(proxy.connections).toBe(0);
  });

  it.skipIf(skip)('answers reads and writes correctly once healed, without a rebuild', async () => {
    proxy.heal();
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await proxied.ping();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
    // Nothing written during the hold arrived later.
    expect((await data(truth, '{ kit(id: 23) { name } }')).kit.name).not.toBe('Renamed while held');

    const writes = cached.caches.counters.get('response_write');
    const answers = await Promise.all([...QUERIES, ...QUERIES].map((q) => gql(cached.app, q)));
    for (const [i, r] of answers.entries()) {
      expect(r.status).toBe(200);
      expect(r.errors).toBeUndefined();
      expect(r.data).toEqual(await data(truth, [...QUERIES, ...QUERIES][i]!));
    }
    const me = await gql(cached.app, ME, {}, user);
    expect(me.errors).toBeUndefined();
    expect(me.data).toEqual(await data(truth, ME, {}, user));

    const m = await gql(cached.app, RENAME, { name: 'Renamed after the hold' }, admin);
    expect(m.errors).toBeUndefined();
    expect(m.data?.updateKit).toEqual({ id: '23', name: 'Renamed after the hold' });
    expect((await data(truth, '{ kit(id: 23) { name } }')).kit.name).toBe('Renamed after the hold');
    await cached.caches.settled();
    expect(cached.caches.counters.get('response_write') - writes).toBeGreaterThan(0);
  });
});
