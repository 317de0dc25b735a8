/**
 * What an anonymous client can make the server keep: a document is registered only in a bounded,
 * canonical form (its size without ignored characters, not padded with comments or whitespace),
 * within a per-address registration budget shared by the instances through Redis, and documents
 * registered once cannot evict the in-process pairs the lean hit is using. Whatever is refused is
 * still executed (same answer), just not registered; a budget counter that fails refuses, never a 500.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CacheOptions } from '../../src/caches.js';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { createMemoryPersistedStore, createPersistedOperations } from '../../src/persisted/index.js';
import { unregistrable } from '../../src/persisted/canonical.js';
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
import { apq, ask, codeOf, redisCommands, sha256, type Answer } from './requests.js';

const skip = redisAvailable() ? false : redisSkipReason();
const brands = (name: string) => `query ${name} { brands { id } }`;

/** query + hash POSTed by `address` (believed: the apps here trust one proxy). */
async function register(c: CachedApp, query: string, address = '203.0.113.1'): Promise<Answer> {
  const response = await c.front.fetch('http://kitvault.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify({ query, extensions: apq(sha256(query)) }),
  });
  return {
    status: response.status,
    cache: response.headers.get('x-cache'),
    body: (await response.json()) as Answer['body'],
  };
}

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

describe('registration bounds on a shared Redis', () => {
  let redis: RedisClient;
  const prefixes: string[] = [];
  const app = async (options: Partial<CacheOptions> & { prefix?: string } = {}) => {
    const prefix = options.prefix ?? newPrefix();
    prefixes.push(prefix);
    return cachedApp(database, {
      backend: 'redis',
      redis,
      prefix,
      cacheDebug: false,
      trustProxy: 1,
      ...options,
    });
  };
  const registered = async (prefix: string) => (await keysUnder(redis, `${prefix}pq:`)).length;

  beforeAll(() => {
    if (!skip) redis = testRedis();
  });
  afterAll(async () => {
    if (!redis) return;
    for (const prefix of new Set(prefixes)) await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it.skipIf(skip)(
    `the reviewer's flood: documents padded with a comment are executed, none registered${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const c = await app({ persistedQueriesRegistrationsPerMinute: 1000 });
      const pad = `#${'x'.repeat(19_500)}\n`;
      for (let i = 0; i < 40; i++) {
        const padded = `${pad}${brands(`Q${i}`)}`;
        const r = await register(c, padded);
        expect([r.status, r.body.errors]).toEqual([200, undefined]);
        expect(r.body.data?.brands.length).toBeGreaterThan(0);
      }
      await c.caches.settled();
      expect(await registered(prefixes.at(-1)!)).toBe(0);
      expect(c.caches.persisted.refusedRegistrations('padded')).toBe(40);
      // Still not known: the client keeps sending the query.
      const padded = `${pad}${brands('Q0')}`;
      expect(codeOf(await ask(c.front, 'POST', { extensions: apq(sha256(padded)) }))).toBe('PERSISTED_QUERY_NOT_FOUND');
    },
  );

  it.skipIf(skip)('the size bound is on the document without its ignored characters', async () => {
    const c = await app({ persistedQueriesMaxBytes: 300 });
    const prefix = prefixes.at(-1)!;
    // ~340 bytes as sent, mostly indentation: ~35 without the whitespace, registered.
    const indented = `query Indented {\n${' '.repeat(100)}brands {\n${' '.repeat(100)}id\n${' '.repeat(100)}name\n  }\n}\n`;
    expect(Buffer.byteLength(indented)).toBeGreaterThan(300);
    const r = await register(c, indented);
    expect(r.body.errors).toBeUndefined();
    await c.caches.settled();
    expect(await redis.get(`${prefix}pq:${sha256(indented)}`)).toBe(indented);
    // 320 bytes without ignored characters (a long name): executed, not registered.
    const long = brands(`Long${'x'.repeat(300)}`);
    expect((await register(c, long)).body.data?.brands.length).toBeGreaterThan(0);
    expect(await redis.get(`${prefix}pq:${sha256(long)}`)).toBeNull();
    expect(c.caches.persisted.refusedRegistrations('too_large')).toBe(1);
  });

  it.skipIf(skip)(
    'registrations per address are budgeted across the instances sharing the Redis; over it, executed only',
    async () => {
      const prefix = newPrefix();
      const a = await app({ prefix, persistedQueriesRegistrationsPerMinute: 3 });
      const b = await app({ prefix, persistedQueriesRegistrationsPerMinute: 3 });
      const docs = Array.from({ length: 6 }, (_, i) => brands(`Budget${i}`));
      for (const [c, doc] of [
        [a, docs[0]],
        [a, docs[1]],
        [b, docs[2]],
        [b, docs[3]],
        [a, docs[4]],
      ] as const) {
        const r = await register(c, doc!);
        expect([r.status, r.body.errors]).toEqual([200, undefined]);
        expect(r.body.data?.brands.length).toBeGreaterThan(0);
      }
      await Promise.all([a.caches.settled(), b.caches.settled()]);
      const kept = async (doc: string) => (await redis.get(`${prefix}pq:${sha256(doc)}`)) !== null;
      expect(await Promise.all(docs.slice(0, 5).map(kept))).toEqual([true, true, true, false, false]);
      expect(b.caches.persisted.refusedRegistrations('over_budget')).toBe(1);
      expect(a.caches.persisted.refusedRegistrations('over_budget')).toBe(1);
      // The over-budget document is not known anywhere: its hash alone asks for the query.
      expect(codeOf(await ask(a.front, 'POST', { extensions: apq(sha256(docs[3]!)) }))).toBe(
        'PERSISTED_QUERY_NOT_FOUND',
      );
      // Another address has its own budget.
      expect((await register(b, docs[5]!, '198.51.100.7')).body.errors).toBeUndefined();
      await b.caches.settled();
      expect(await kept(docs[5]!)).toBe(true);
      // One counter per address, for a minute.
      const counters = (await keysUnder(redis, prefix)).filter((k) => k.includes(':apq:'));
      expect(counters).toHaveLength(2);
      for (const key of counters) expect(await redis.pttl(key)).toBeGreaterThan(0);
      expect(await redis.pttl(counters[0]!)).toBeLessThanOrEqual(60_000);
    },
  );

  it.skipIf(skip)(
    'a flood of one-shot ~20 KB registrations does not evict a document in use from the in-process map',
    async () => {
      const c = await app({ persistedQueriesRegistrationsPerMinute: 10_000 });
      const hot = 'query Hot { brands { id name } }';
      const first = await register(c, hot);
      await c.caches.settled();
      // Asked for by hash: in use, the lean hit resolved it from the map.
      expect((await ask(c.front, 'POST', { extensions: apq(sha256(hot)) })).cache).toBe('HIT');
      // 450 × ~19.5 KB without ignored characters (long names): ~8.8 MB, over the map's 8 MiB.
      for (let i = 0; i < 450; i++) {
        const r = await register(c, brands(`Flood${i}${'x'.repeat(19_500)}`), `192.0.2.${i % 250}`);
        expect(r.body.errors).toBeUndefined();
      }
      await c.caches.settled();
      expect(c.caches.persisted.knownBytes()).toBeGreaterThan(1024 * 1024);
      expect(c.caches.persisted.knownBytes()).toBeLessThanOrEqual(8 * 1024 * 1024);
      // Still resolved in process: no read of the registry (`get pq:<hash>`), only the answer's lookup.
      // (Over GET: other request bytes than the POST's, which the lean hit remembers by themselves.)
      const commands = redisCommands(redis);
      let again: Answer | undefined;
      try {
        const sent = await commands.during(c.caches, async () => {
          again = await ask(c.front, 'GET', { extensions: apq(sha256(hot)) });
        });
        expect(sent).not.toContain('get');
      } finally {
        commands.restore();
      }
      expect(again?.body.data).toEqual(first.body.data);
    },
    120_000,
  );
});

describe('registration budget when its counter fails', () => {
  it('executes the query, registers nothing and reports it, never a 500', async () => {
    const store = createMemoryPersistedStore({ ttlMs: 60_000 });
    const errors: string[] = [];
    const persisted = createPersistedOperations({
      store,
      budgetCounters: { take: () => Promise.reject(new Error('counter unreachable')) },
      onStoreError: (operation) => errors.push(operation),
    });
    const c = await cachedApp(database, { backend: 'memory', cacheDebug: false, app: { persisted } });
    const query = brands('Unbudgeted');
    const r = await ask(c.front, 'POST', { query, extensions: apq(sha256(query)) });
    expect([r.status, r.body.errors]).toEqual([200, undefined]);
    expect(r.body.data?.brands.length).toBeGreaterThan(0);
    expect(await store.get(sha256(query))).toBeNull();
    expect(errors).toEqual(['budget']);
    expect(persisted.refusedRegistrations('budget_unavailable')).toBe(1);
    expect(persisted.documentOf(sha256(query))).toBeUndefined();
  });
});

describe('bounds', () => {
  it('PERSISTED_QUERIES_REGISTRATIONS_PER_MINUTE defaults to 30 per address', () => {
    expect(loadConfig({}).persistedQueriesRegistrationsPerMinute).toBe(30);
    expect(loadConfig({ PERSISTED_QUERIES_REGISTRATIONS_PER_MINUTE: '5' }).persistedQueriesRegistrationsPerMinute).toBe(
      5,
    );
  });

  it('a document padded past twice its canonical form plus 1 KB is not registrable; one within it is', () => {
    const doc = brands('Q');
    expect(unregistrable(doc, 20_000)).toBeNull();
    expect(unregistrable(`${doc}\n# ${'x'.repeat(900)}`, 20_000)).toBeNull();
    expect(unregistrable(`${doc}\n# ${'x'.repeat(1_100)}`, 20_000)).toBe('padded');
    expect(unregistrable(`${doc}${' '.repeat(1_100)}`, 20_000)).toBe('padded');
    expect(unregistrable(brands(`Q${'x'.repeat(20_000)}`), 20_000)).toBe('too_large');
    expect(unregistrable(`${doc}${' '.repeat(50_000)}`, 20_000)).toBe('too_large'); // not even lexed
  });
});
