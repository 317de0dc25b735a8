/**
 * Automatic persisted queries (Apollo's protocol) over GET and POST: an unknown hash asks for the
 * query (PersistedQueryNotFound), query + hash registers once verified, then the hash alone is
 * answered, on this instance and on another sharing the Redis, by the lean hit with one Redis
 * command and no execution. A wrong hash stores nothing; Redis failing costs a resend, never a 500.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectRedis, createRedis, type RedisClient } from '../../src/cache/redis/client.js';
import type { Database } from '../../src/db/client.js';
import { Query } from '../../src/resolvers/query.js';
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
import { ownRedis, ownRedisSkip, type OwnRedis } from '../helpers/redis-server.js';
import { apq, ask, codeOf, GRAPHQL_RESPONSE, JSON_ONLY, redisCommands, sha256, yogaRequests } from './requests.js';

// Spied before any app builds the schema, so it counts real executions.
const kitResolver = vi.spyOn(Query, 'kit');

const skip = redisAvailable() ? false : redisSkipReason();
const KIT = 'query Kit($id: ID!) { kit(id: $id) { id name club { name } } }';
const kitQuery = (n: number) => `query Kit${n}($id: ID!) { kit(id: $id) { id name season { label } } }`;

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

describe('APQ on a shared Redis', () => {
  let redis: RedisClient;
  let prefix: string;
  let a: CachedApp;
  let b: CachedApp;
  let commands: ReturnType<typeof redisCommands>;
  const yogaA = yogaRequests();
  const yogaB = yogaRequests();

  beforeAll(async () => {
    if (skip) return;
    redis = testRedis();
    await redis.ping();
    prefix = newPrefix();
    // The Redis commands are counted: no in-process layer in front of the response store.
    const options = {
      backend: 'redis',
      redis,
      prefix,
      cacheDebug: false,
      persistedQueriesMaxBytes: 300,
      responseL1Mb: 0,
    } as const;
    a = await cachedApp(database, { ...options, app: { plugins: [yogaA.plugin] } });
    b = await cachedApp(database, { ...options, app: { plugins: [yogaB.plugin] } });
    commands = redisCommands(redis);
  });
  afterAll(async () => {
    commands?.restore();
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  const registered = async (hash: string) => redis.get(`${prefix}pq:${hash}`);

  it.skipIf(skip)(
    `an unknown hash asks for the query, over GET and POST, 200 for JSON and 400 for graphql-response+json${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const hash = sha256(kitQuery(1));
      for (const method of ['GET', 'POST'] as const) {
        for (const [accept, status] of [
          [JSON_ONLY, 200],
          [GRAPHQL_RESPONSE, 400],
        ] as const) {
          const r = await ask(a.front, method, { variables: { id: '3' }, extensions: apq(hash) }, accept);
          expect(r.status, `${method} ${accept}`).toBe(status);
          expect(r.body.errors).toEqual([
            { message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } },
          ]);
          expect(r.body.data).toBeUndefined();
        }
      }
      expect(kitResolver).not.toHaveBeenCalled();
    },
  );

  it.skipIf(skip)('query + hash registers; then the hash alone is answered over GET and POST', async () => {
    const hash = sha256(KIT);
    kitResolver.mockClear();
    const first = await ask(a.front, 'POST', {
      query: KIT,
      operationName: 'Kit',
      variables: { id: '4' },
      extensions: apq(hash),
    });
    expect(first.status).toBe(200);
    expect(first.body.data?.kit).toMatchObject({ id: '4' });
    expect(await registered(hash)).toBe(KIT);
    const ttl = await redis.ttl(`${prefix}pq:${hash}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(86_400);
    await a.caches.settled();
    yogaA.reset();
    for (const method of ['GET', 'POST'] as const) {
      const r = await ask(a.front, method, {
        operationName: 'Kit',
        variables: { id: '4' },
        extensions: { clientLibrary: { name: '@apollo/client', version: '4.0.0' }, ...apq(hash) },
      });
      expect(r.status, method).toBe(200);
      expect(r.body).toEqual(first.body);
      expect(r.cache, method).toBe('HIT');
    }
    // Also in the GraphQL-over-HTTP form.
    const byId = await ask(a.front, 'POST', {
      documentId: `sha256:${hash}`,
      operationName: 'Kit',
      variables: { id: '4' },
    });
    expect(byId.cache).toBe('HIT');
    const byIdGet = await ask(a.front, 'GET', {
      documentId: `sha256:${hash}`,
      operationName: 'Kit',
      variables: { id: '4' },
    });
    expect(byIdGet.body).toEqual(first.body);
    expect(yogaA.count()).toBe(0); // every hash-only request was answered by the lean hit
    expect(byId.body).toEqual(first.body);
    expect(kitResolver).toHaveBeenCalledTimes(1);
  });

  it.skipIf(skip)('a registration made on one instance answers on another sharing the Redis', async () => {
    const query = kitQuery(2);
    const hash = sha256(query);
    const first = await ask(a.front, 'POST', { query, variables: { id: '5' }, extensions: apq(hash) });
    expect(first.body.data?.kit).toMatchObject({ id: '5' });
    const onB = await ask(b.front, 'GET', { variables: { id: '5' }, extensions: apq(hash) });
    expect(onB.status).toBe(200);
    expect(onB.body).toEqual(first.body);
  });

  it.skipIf(skip)('a persisted hit costs no execution and exactly one Redis command, over GET and POST', async () => {
    const query = kitQuery(3);
    const hash = sha256(query);
    await ask(a.front, 'POST', { query, variables: { id: '6' }, extensions: apq(hash) });
    // b learns the hash from Redis once (and executes once: b has not run the document yet).
    await ask(b.front, 'POST', { variables: { id: '6' }, extensions: apq(hash) });
    for (const [app, yoga] of [
      [a, yogaA],
      [b, yogaB],
    ] as const) {
      for (const method of ['GET', 'POST'] as const) {
        kitResolver.mockClear();
        yoga.reset();
        let hit: Awaited<ReturnType<typeof ask>> | undefined;
        const sent = await commands.during(
          app.caches,
          async () => (hit = await ask(app.front, method, { variables: { id: '6' }, extensions: apq(hash) })),
        );
        expect(hit!.cache, method).toBe('HIT');
        expect(hit!.body.data?.kit).toMatchObject({ id: '6' });
        expect(sent, method).toEqual(['mget']);
        expect(kitResolver).not.toHaveBeenCalled();
        expect(yoga.count(), method).toBe(0); // answered by the lean hit
      }
    }
  });

  it.skipIf(skip)('a wrong hash is refused with its code and stores nothing', async () => {
    const query = kitQuery(4);
    const wrong = sha256(`${query} `);
    for (const method of ['GET', 'POST'] as const) {
      const r = await ask(a.front, method, { query, variables: { id: '7' }, extensions: apq(wrong) }, JSON_ONLY);
      expect(r.status).toBe(400);
      expect(codeOf(r)).toBe('PERSISTED_QUERY_HASH_MISMATCH');
      expect(r.body.data).toBeUndefined();
    }
    expect(await registered(wrong)).toBeNull();
    expect(await registered(sha256(query))).toBeNull();
    expect(codeOf(await ask(a.front, 'POST', { variables: { id: '7' }, extensions: apq(wrong) }))).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
  });

  it.skipIf(skip)(
    'malformed, other versions, documents that do not parse or are too large: refused or not stored',
    async () => {
      const query = kitQuery(5);
      const hash = sha256(query);
      const version = await ask(a.front, 'POST', { extensions: apq(hash, 2) }, JSON_ONLY);
      expect([version.status, codeOf(version)]).toEqual([400, 'PERSISTED_QUERY_VERSION_NOT_SUPPORTED']);
      for (const bad of [apq('abc'), apq(`sha256:${hash}`), { persistedQuery: 'x' }]) {
        const r = await ask(a.front, 'GET', { extensions: bad }, JSON_ONLY);
        expect([r.status, codeOf(r)]).toEqual([400, 'PERSISTED_QUERY_INVALID']);
      }
      const badId = await ask(a.front, 'POST', { documentId: hash }, JSON_ONLY);
      expect([badId.status, codeOf(badId)]).toEqual([400, 'PERSISTED_QUERY_INVALID']);

      const broken = '{ kit(id: 1) { name ';
      const unparsed = await ask(a.front, 'POST', { query: broken, extensions: apq(sha256(broken)) });
      expect(codeOf(unparsed)).toBe('GRAPHQL_PARSE_FAILED');
      expect(await registered(sha256(broken))).toBeNull();

      // Large without its ignored characters too: a 300-character operation name.
      const large = query.replace('Kit5', `Kit${'x'.repeat(300)}`);
      const big = await ask(a.front, 'POST', { query: large, variables: { id: '8' }, extensions: apq(sha256(large)) });
      expect(big.body.data?.kit).toMatchObject({ id: '8' }); // executed, but over PERSISTED_QUERIES_MAX_BYTES
      expect(await registered(sha256(large))).toBeNull();
      expect(await keysUnder(redis, `${prefix}pq:`)).toHaveLength(3); // KIT, kitQuery(2) and kitQuery(3) only
    },
  );
});

describe('APQ when Redis fails', () => {
  let own: OwnRedis;
  let redis: RedisClient;
  let c: CachedApp;

  beforeAll(async () => {
    if (ownRedisSkip) return;
    own = await ownRedis();
    await own.start();
    redis = createRedis({ url: own.url, timeoutMs: 200 });
    expect(await connectRedis(redis)).toBeNull();
    c = await cachedApp(database, { backend: 'redis', redis, prefix: 'kvapq:', cacheDebug: false });
  });
  afterAll(async () => {
    redis?.disconnect();
    await own?.stop();
  });

  it.skipIf(ownRedisSkip)(
    `an unknown hash is PersistedQueryNotFound, the resent query is answered, a known one still works${ownRedisSkip ? ` (skipped: ${ownRedisSkip})` : ''}`,
    async () => {
      const known = kitQuery(6);
      const first = await ask(c.front, 'POST', {
        query: known,
        variables: { id: '9' },
        extensions: apq(sha256(known)),
      });
      expect(first.body.data?.kit).toMatchObject({ id: '9' });
      await c.caches.settled();
      await own.stop();

      const unknown = kitQuery(7);
      for (const method of ['GET', 'POST'] as const) {
        const r = await ask(c.front, method, { variables: { id: '10' }, extensions: apq(sha256(unknown)) }, JSON_ONLY);
        expect([r.status, codeOf(r)], method).toEqual([200, 'PERSISTED_QUERY_NOT_FOUND']);
      }
      const resent = await ask(c.front, 'POST', {
        query: unknown,
        variables: { id: '10' },
        extensions: apq(sha256(unknown)),
      });
      expect(resent.status).toBe(200);
      expect(resent.body.errors).toBeUndefined();
      expect(resent.body.data?.kit).toMatchObject({ id: '10' });
      // Its registration budget could not be counted: not registered (nor learned here).
      expect(c.caches.persisted.refusedRegistrations('budget_unavailable')).toBeGreaterThan(0);
      expect(c.caches.persisted.documentOf(sha256(unknown))).toBeUndefined();

      // Known in this process: answered from the database, with the same data as before the outage.
      const again = await ask(c.front, 'GET', { variables: { id: '9' }, extensions: apq(sha256(known)) });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(c.caches.counters.get('redis_error') + c.caches.counters.get('redis_short_circuit')).toBeGreaterThan(0);
    },
  );
});

describe('APQ switched off', () => {
  it('answers a hash PersistedQueryNotSupported (the link stops hashing) and still executes queries', async () => {
    const c = await cachedApp(database, { backend: 'memory', persistedQueries: false, cacheDebug: false });
    const query = kitQuery(8);
    const hashOnly = await ask(c.front, 'POST', { variables: { id: '2' }, extensions: apq(sha256(query)) }, JSON_ONLY);
    expect([hashOnly.status, hashOnly.body.errors?.[0]?.message, codeOf(hashOnly)]).toEqual([
      200,
      'PersistedQueryNotSupported',
      'PERSISTED_QUERY_NOT_SUPPORTED',
    ]);
    const withQuery = await ask(c.front, 'POST', { query, variables: { id: '2' }, extensions: apq(sha256(query)) });
    expect(withQuery.body.data?.kit).toMatchObject({ id: '2' });
    // Nothing was registered: the hash alone is still not supported.
    expect(codeOf(await ask(c.front, 'POST', { extensions: apq(sha256(query)) }))).toBe(
      'PERSISTED_QUERY_NOT_SUPPORTED',
    );
  });
});
