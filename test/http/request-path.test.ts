/**
 * The request path of a cached query through the front door: a hit is one Redis round trip and
 * the stored bytes; identical misses run once; stale entries are served while one request refreshes
 * them; validators answer 304 only for the request's own entry; headers tell browsers and CDNs what
 * they may keep.
 */
import type { Plugin } from 'graphql-yoga';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AppContext } from '../../src/context.js';
import type { Database } from '../../src/db/client.js';
import { noEdgePurger } from '../../src/cache/edge/purger.js';
import { Query } from '../../src/resolvers/query.js';
import { tokensFor } from '../helpers/app.js';
import { backends, cachedApp, dropPrefix, newPrefix, testRedis, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

const kitResolver = vi.spyOn(Query, 'kit');
const searchResolver = vi.spyOn(Query, 'search');

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const post = (
  c: CachedApp,
  query: string,
  variables: Record<string, unknown> = {},
  headers: Record<string, string> = {},
) =>
  c.front.fetch('http://kitvault.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
const get = (c: CachedApp, query: string, headers: Record<string, string> = {}) =>
  c.front.fetch(`http://kitvault.test/graphql?query=${encodeURIComponent(query)}`, {
    headers: { accept: 'application/json', ...headers },
  });

describe.each(backends())('request path on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  let prefix = '';
  let one: CachedApp;
  let two: CachedApp;
  let admin = '';
  let user = '';

  beforeAll(async () => {
    if (skip) return;
    prefix = newPrefix();
    if (backend === 'redis') redis = testRedis();
    // An edge that is told of every purge (and does nothing with them): answers may be kept there.
    // The Redis level's round trips: no in-process layer in front (test/cache/response/local-layer.test.ts).
    const options = { backend, redis, prefix, edgePurger: noEdgePurger, responseL1Mb: 0 };
    one = await cachedApp(database, options);
    two = backend === 'redis' ? await cachedApp(database, options) : one;
    const t = await tokensFor(one.app, ['admin', 'user3']);
    admin = t.get('admin')!.token;
    user = t.get('user3')!.token;
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it.skipIf(skip)(
    `answers a public hit with the stored bytes, the same over GET and POST${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const q = '{ kit(id: 30) { name club { name } } }';
      const miss = await post(one, q);
      expect(miss.headers.get('x-cache')).toBe('MISS');
      const missBody = await miss.text();
      await one.caches.settled();
      const viaPost = await post(one, q);
      const viaGet = await get(one, q);
      expect(viaPost.headers.get('x-cache')).toBe('HIT');
      expect(viaGet.headers.get('x-cache')).toBe('HIT');
      const a = Buffer.from(await viaPost.arrayBuffer());
      const b = Buffer.from(await viaGet.arrayBuffer());
      expect(a.equals(b)).toBe(true);
      // Debug metadata aside, the hit is the miss's answer.
      const strip = (s: string) => JSON.stringify({ ...JSON.parse(s), extensions: undefined });
      expect(strip(a.toString())).toBe(strip(missBody));
      expect(viaPost.headers.get('content-type')).toBe('application/json; charset=utf-8');
    },
  );

  if (backend === 'redis') {
    it.skipIf(skip)('spends one Redis round trip on a hit, public or private, and one lookup on a miss', async () => {
      const q = '{ kit(id: 31) { name } }';
      const pq = '{ me { username collection(first: 2) { totalCount } } }';
      await post(one, q);
      await post(one, pq, {}, { authorization: `Bearer ${user}` });
      await one.caches.settled();
      const send = vi.spyOn(redis!, 'sendCommand');
      const hit = await post(one, q);
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(send.mock.calls.map(([c]) => (c as { name: string }).name)).toEqual(['mget']);
      send.mockClear();
      const privateHit = await post(one, pq, {}, { authorization: `Bearer ${user}` });
      expect(privateHit.headers.get('x-cache')).toBe('HIT');
      expect(send.mock.calls.map(([c]) => (c as { name: string }).name)).toEqual(['mget']);
      send.mockClear();
      const miss = await post(one, '{ kit(id: 32) { name } }');
      expect(miss.headers.get('x-cache')).toBe('MISS');
      await one.caches.settled();
      expect(send.mock.calls.filter(([c]) => (c as { name: string }).name === 'mget')).toHaveLength(1);
      send.mockRestore();
    });
  }

  it.skipIf(skip)('runs 500 concurrent identical cold requests over two servers at most twice', async () => {
    const q = '{ kit(id: 33) { name season { label } } }';
    kitResolver.mockClear();
    const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => post(i % 2 ? two : one, q)));
    const bodies = await Promise.all(answers.map((r) => r.json() as Promise<{ data: { kit: { name: string } } }>));
    expect(new Set(bodies.map((b) => b.data.kit.name)).size).toBe(1);
    expect(kitResolver.mock.calls.length).toBeGreaterThanOrEqual(1);
    expect(kitResolver.mock.calls.length).toBeLessThanOrEqual(backend === 'redis' ? 2 : 1);
  });

  if (backend === 'redis') {
    it.skipIf(skip)(
      'runs them at most twice also when Redis holds nothing at all under the prefix (cold buckets)',
      async () => {
        const coldPrefix = newPrefix();
        const [a, b] = [
          await cachedApp(database, { backend, redis, prefix: coldPrefix }),
          await cachedApp(database, { backend, redis, prefix: coldPrefix }),
        ];
        const q = '{ kit(id: 36) { name season { label } } }';
        kitResolver.mockClear();
        // The first request takes the fill lease and is held while executing; the others arrive
        // after it, so their lookups see the bucket the lease started (they must still join it).
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        kitResolver.mockImplementationOnce(async (_, { id }, ctx) => {
          await gate;
          return ctx.loaders.kit.load(Number(id));
        });
        const first = post(a, q);
        while (kitResolver.mock.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        const rest = Array.from({ length: 499 }, (_, i) => post(i % 2 ? b : a, q));
        await new Promise((resolve) => setTimeout(resolve, 100));
        release();
        const answers = await Promise.all([first, ...rest]);
        const bodies = await Promise.all(answers.map((r) => r.json() as Promise<{ data: { kit: { name: string } } }>));
        expect(new Set(bodies.map((x) => x.data.kit.name)).size).toBe(1);
        expect(kitResolver.mock.calls.length).toBeLessThanOrEqual(2);
        await a.caches.settled();
        await b.caches.settled();
        await dropPrefix(redis!, coldPrefix);
      },
    );
  }

  it.skipIf(skip)('answers 304 only to its own entry’s validator, whatever else the header holds', async () => {
    const q = '{ kit(id: 34) { name } }';
    const other = '{ kit(id: 35) { name } }';
    await post(one, q);
    await post(one, other);
    await one.caches.settled();
    const own = (await post(one, q)).headers.get('etag')!;
    const foreign = (await post(one, other)).headers.get('etag')!;
    expect(own).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(foreign).not.toBe(own);

    const notModified = await get(one, q, { 'if-none-match': own });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('x-cache')).toBe('HIT');
    expect(await notModified.text()).toBe('');
    expect(notModified.headers.get('etag')).toBe(own);
    expect((await get(one, q, { 'if-none-match': `${foreign}, W/${own}` })).status).toBe(304);

    const keyName = `${prefix}{rc:3}:c`;
    for (const header of [
      foreign,
      `"${keyName}"`,
      keyName,
      `${foreign}, "x"`,
      '*',
      'garbage',
      '"unterminated',
      `"${'x'.repeat(3000)}"`,
      `${own.slice(0, -2)}"`,
    ]) {
      const r = await get(one, q, { 'if-none-match': header });
      expect(r.status, header.slice(0, 40)).toBe(200);
      expect((await r.json()).data.kit.name).toBeTruthy();
    }
    // On a miss there is nothing to match: never a 304.
    const cold = await get(one, '{ kit(id: 36) { name } }', { 'if-none-match': own });
    expect(cold.status).toBe(200);
  });

  it.skipIf(skip)('answers 304 to GET only: a POST with a matching validator gets its full answer', async () => {
    const q = '{ kit(id: 37) { name } }';
    const first = await post(one, q);
    const etag = first.headers.get('etag')!;
    const name = (await first.json()).data.kit.name;
    await one.caches.settled();
    // The lean hit (x-cache HIT from serve) and the yoga path (an `extensions` parameter sends the
    // request through yoga, where the same entry is a hit) answer alike.
    const viaYoga = (path: string, headers: Record<string, string>) =>
      one.front.fetch(`http://kitvault.test/graphql?query=${encodeURIComponent(q)}&extensions=%7B%7D${path}`, {
        headers: { accept: 'application/json', ...headers },
      });
    const leanPost = await post(one, q, {}, { 'if-none-match': etag });
    expect(leanPost.status).toBe(200);
    expect((await leanPost.json()).data.kit.name).toBe(name);
    const leanGet = await get(one, q, { 'if-none-match': etag });
    expect(leanGet.status).toBe(304);

    const yogaGet = await viaYoga('', { 'if-none-match': etag });
    expect(yogaGet.status).toBe(304);
    expect(yogaGet.headers.get('x-cache')).toBe('HIT');
    expect(yogaGet.headers.get('etag')).toBe(etag);
    expect(yogaGet.headers.get('cache-control')).toBe('public, no-cache');
    expect(await yogaGet.text()).toBe('');
    const yogaPost = await one.front.fetch('http://kitvault.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', 'if-none-match': etag },
      body: JSON.stringify({ query: q, extensions: {} }),
    });
    expect(yogaPost.status).toBe(200);
    expect((await yogaPost.json()).data.kit.name).toBe(name);
    // A miss on the yoga path whose fresh answer is the one the client holds: 304 as well.
    const fresh = '{ kit(id: 38) { name } }';
    const held = (await post(one, fresh)).headers.get('etag')!;
    await one.caches.settled();
    await one.caches.admin.purgeAll();
    const revalidated = await get(one, fresh, { 'if-none-match': held });
    expect(revalidated.headers.get('x-cache')).toBe('MISS');
    expect(revalidated.status).toBe(304);
  });

  it.skipIf(skip)('tells surrogates not to keep answers when no edge is purged', async () => {
    const c = await cachedApp(database, { backend, redis, prefix });
    const q = '{ brand(id: 5) { name } }';
    const miss = await post(c, q);
    await c.caches.settled();
    const hit = await post(c, q);
    for (const r of [miss, hit]) {
      expect(r.headers.get('cache-control')).toBe('public, no-cache');
      expect(r.headers.get('surrogate-control')).toBe('no-store');
      for (const h of ['surrogate-key', 'cache-tag']) expect(r.headers.get(h), h).toBeNull();
    }
    expect(hit.headers.get('x-cache')).toBe('HIT');
  });

  it.skipIf(skip)('tells browsers and CDNs what they may keep', async () => {
    const q = '{ brand(id: 2) { name } }';
    await post(one, q);
    await one.caches.settled();
    const pub = await post(one, q);
    // Browsers revalidate every time (a 304 when nothing changed); the edge we purge keeps it.
    expect(pub.headers.get('cache-control')).toBe('public, no-cache');
    expect(pub.headers.get('surrogate-control')).toMatch(/^max-age=\d+$/);
    // No longer than EDGE_MAX_AGE_SECONDS (default 60), though a brand's answer lives an hour.
    expect(Number(/max-age=(\d+)/.exec(pub.headers.get('surrogate-control')!)![1])).toBeLessThanOrEqual(60);
    expect(pub.headers.get('surrogate-key')?.split(' ')).toContain('Brand:2');
    expect(pub.headers.get('cache-tag')?.split(',')).toContain('Brand:2');
    expect(pub.headers.get('age')).toMatch(/^\d+$/);

    const pq = '{ me { id } }';
    await post(one, pq, {}, { authorization: `Bearer ${user}` });
    await one.caches.settled();
    for (const r of [await post(one, pq, {}, { authorization: `Bearer ${user}` })]) {
      expect(r.headers.get('cache-control')).toBe('private, no-cache');
      expect(r.headers.get('vary')).toContain('Authorization');
      for (const h of ['surrogate-control', 'surrogate-key', 'cache-tag']) expect(r.headers.get(h), h).toBeNull();
    }
    const mutation = await post(
      one,
      'mutation { updateBrand(input: { id: 3 }) { id } }',
      {},
      { authorization: `Bearer ${admin}` },
    );
    expect(mutation.headers.get('cache-control')).toBe('no-store');
    const failed = await post(one, '{ kit(id: "x") { id } }');
    expect(failed.headers.get('cache-control')).toBe('no-store');
    const viaGet = await get(one, 'mutation { logout }');
    expect(viaGet.status).toBe(405);
  });

  it.skipIf(skip)('answers a hit in the media type yoga picks for the same Accept, or leaves it to yoga', async () => {
    const accepts: [string | undefined, 'lean hit' | 'yoga'][] = [
      [undefined, 'lean hit'],
      ['*/*', 'lean hit'],
      ['application/graphql-response+json, application/json', 'lean hit'],
      // urql's default: the JSON types first, then the streaming ones yoga uses only for streams.
      [
        'application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed',
        'lean hit',
      ],
      ['application/json;charset=latin1, application/graphql-response+json', 'lean hit'],
      ['text/event-stream', 'yoga'],
    ];
    let toYoga = 0;
    const counting: Plugin<AppContext> = { onRequest: () => void (toYoga += 1) };
    const c = await cachedApp(database, { backend, redis, prefix, app: { plugins: [counting] } });
    for (const [i, [accept, expected]] of accepts.entries()) {
      const url = `http://kitvault.test/graphql?query=${encodeURIComponent(`{ kit(id: ${40 + i}) { name } }`)}`;
      const headers: Record<string, string> = accept === undefined ? {} : { accept };
      const miss = await c.front.fetch(url, { headers });
      const missType = miss.headers.get('content-type');
      await miss.arrayBuffer();
      await c.caches.settled();
      toYoga = 0;
      const repeat = await c.front.fetch(url, { headers });
      await repeat.arrayBuffer();
      expect([accept, toYoga ? 'yoga' : 'lean hit']).toEqual([accept, expected]);
      expect([accept, repeat.headers.get('content-type')]).toEqual([accept, missType]);
    }
    // A browser's navigation to a cached query's URL still gets GraphiQL, not the cached JSON.
    const cachedUrl = `http://kitvault.test/graphql?query=${encodeURIComponent('{ kit(id: 40) { name } }')}`;
    const page = await c.front.fetch(cachedUrl, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } });
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    await page.arrayBuffer();
  });

  it.skipIf(skip)('echoes CORS headers on a fast-path hit as yoga does on a miss', async () => {
    const q = '{ season(id: 2) { label } }';
    const miss = await post(one, q, {}, { origin: 'https://shop.example' });
    await one.caches.settled();
    const hit = await post(one, q, {}, { origin: 'https://shop.example' });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    for (const h of ['access-control-allow-origin', 'access-control-allow-credentials']) {
      expect(hit.headers.get(h), h).toBe(miss.headers.get(h));
    }
    expect(hit.headers.get('vary')).toContain('Origin');
  });

  it.skipIf(skip)('stops serving a private hit from the fast path once the token is logged out', async () => {
    const t = (await tokensFor(one.app, ['user4'])).get('user4')!.token;
    const pq = '{ me { username } }';
    await post(one, pq, {}, { authorization: `Bearer ${t}` });
    await one.caches.settled();
    expect((await post(one, pq, {}, { authorization: `Bearer ${t}` })).headers.get('x-cache')).toBe('HIT');
    await post(one, 'mutation { logout }', {}, { authorization: `Bearer ${t}` });
    const after = await post(one, pq, {}, { authorization: `Bearer ${t}` });
    expect((await after.json()).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});

describe.each(backends())('stale-while-revalidate on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  let prefix = '';
  let c: CachedApp;
  let admin = '';

  beforeAll(async () => {
    if (skip) return;
    prefix = newPrefix();
    if (backend === 'redis') redis = testRedis();
    // search: maxAge 30 s × 0.005 = 150 ms; then 5 s of grace.
    c = await cachedApp(database, { backend, redis, prefix, ttlScale: 0.005, responseGraceSeconds: 5 });
    admin = (await tokensFor(c.app, ['admin'])).get('admin')!.token;
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it.skipIf(skip)(
    `serves an expired entry once, marked stale, while one request refreshes it${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const q = '{ search(text: "rovers", first: 3) { __typename } }';
      await post(c, q);
      await c.caches.settled();
      searchResolver.mockClear();
      await sleep(200);
      const writes = c.caches.counters.get('response_write');
      const stale = await post(c, q);
      expect(stale.headers.get('x-cache')).toBe('STALE');
      expect((await stale.json()).extensions.responseCache).toMatchObject({ hit: true, stale: true });
      // Browsers revalidate; the edge must not keep an answer that is being refreshed.
      expect(stale.headers.get('cache-control')).toBe('public, no-cache');
      expect(stale.headers.get('surrogate-control')).toBe('no-store');
      expect(stale.headers.get('surrogate-key')).toBeNull();
      // The refresh runs in the background, once, and writes the new entry.
      for (let i = 0; i < 200 && c.caches.counters.get('response_write') === writes; i++) await sleep(10);
      await c.caches.settled();
      expect(c.caches.counters.get('response_write')).toBe(writes + 1);
      expect(searchResolver).toHaveBeenCalledTimes(1);
      const fresh = await post(c, q);
      expect(fresh.headers.get('x-cache')).toBe('HIT');
      expect(Number(fresh.headers.get('age'))).toBe(0);
    },
  );

  it.skipIf(skip)('never serves an invalidated entry stale', async () => {
    const q = '{ search(text: "wanderers", first: 3) { __typename ... on Club { id name } } }';
    const first = await (await post(c, q)).json();
    await c.caches.settled();
    await sleep(200); // past max-age, within grace
    const club = first.data.search.find((r: { __typename: string }) => r.__typename === 'Club');
    await post(
      c,
      'mutation($i: UpdateClubInput!) { updateClub(input: $i) { id } }',
      { i: { id: club.id, name: `${club.name} Renamed` } },
      { authorization: `Bearer ${admin}` },
    );
    const after = await post(c, q);
    expect(after.headers.get('x-cache')).toBe('MISS');
    const names = (await after.json()).data.search.map((r: { name?: string }) => r.name);
    expect(names).toContain(`${club.name} Renamed`);
  });
});
