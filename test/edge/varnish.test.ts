/**
 * The edge, for real: Varnish (deploy/varnish/default.vcl.template, xkey) in front of the API on
 * node:http with Postgres and Redis caches. Public GETs are kept at the edge; a mutation purges
 * exactly the answers carrying its tags, after the response store dropped them and once more after
 * a delay; every request that reaches the API is counted.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { data, login } from '../helpers/app.js';
import {
  cachedApp,
  dropPrefix,
  newPrefix,
  redisSkipReason,
  redisAvailable,
  testRedis,
  type CachedApp,
} from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { EDGE_ALL_KEY } from '../../src/cache/edge/keys.js';
import { startVarnish, varnishSkip, type OwnVarnish } from './varnish.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const skip = varnishSkip || (!redisAvailable() && !ci ? redisSkipReason() : false);
const REPURGE_MS = 1500;

const KITS = 'query ClubKits($club: ID!) { kits(clubId: $club, first: 100) { totalCount edges { node { id name } } } }';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skip)(`Varnish in front of the API${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let database: Database;
  let redis: RedisClient;
  let prefix = '';
  let c: CachedApp;
  let server: Server;
  let varnish: OwnVarnish;
  /** The API itself, not through the edge. */
  let apiUrl = '';
  let admin = '';
  /** GraphQL requests that reached the API. */
  let origin = 0;
  /** When set, the API's answers to matching requests are held until it resolves. */
  let hold: { match: (req: IncomingMessage) => boolean; until: Promise<void>; held: () => void } | null = null;

  beforeAll(async () => {
    database = await openTestDatabase();
    redis = testRedis();
    prefix = newPrefix();
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    apiUrl = `http://127.0.0.1:${port}`;
    varnish = await startVarnish(port);
    c = await cachedApp(database, {
      backend: 'redis',
      redis,
      prefix,
      cacheDebug: false,
      edgePurgeUrls: [varnish.purgeUrl],
      edgePurgeTimeoutMs: 2000,
      edgeRepurgeDelayMs: REPURGE_MS,
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith('/graphql')) origin++;
      const h = hold;
      if (h?.match(req)) {
        // Hold the finished answer on its way back to the edge.
        const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
        res.end = ((...args: unknown[]) => {
          h.held();
          void h.until.then(() => end(...args));
          return res;
        }) as ServerResponse['end'];
      }
      c.front.listener(req, res);
    });
    admin = await login(c.app, 'admin');
  }, 60_000);

  afterAll(async () => {
    await varnish?.stop();
    await c?.caches.close();
    await new Promise((resolve) => server?.close(resolve));
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
    await database?.close();
  }, 30_000);

  const kitsPath = (club: number) =>
    `/graphql?query=${encodeURIComponent(KITS)}&variables=${encodeURIComponent(JSON.stringify({ club: String(club) }))}`;
  const edgeGet = (club: number, headers: Record<string, string> = {}, base = varnish.url) =>
    fetch(`${base}${kitsPath(club)}`, {
      headers: { accept: 'application/json', ...headers },
      signal: AbortSignal.timeout(10_000),
    });
  const purge = (base: string, keys: string) =>
    fetch(base, { method: 'PURGE', headers: { 'xkey-purge': keys }, signal: AbortSignal.timeout(10_000) });
  const namesOf = async (r: Response) =>
    ((await r.json()) as { data: { kits: { edges: { node: { name: string } }[] } } }).data.kits.edges.map(
      (e) => e.node.name,
    );
  /** Makes club's list an edge hit. */
  async function warm(club: number) {
    const first = await edgeGet(club);
    await first.arrayBuffer();
    await c.caches.settled();
    const again = await edgeGet(club);
    await again.arrayBuffer();
    expect(again.headers.get('x-edge'), `club ${club} kept at the edge`).toBe('HIT');
  }
  /** Waits (10 s at most) until every first purge so far has had its second one (each schedules one). */
  async function repurgesDone() {
    const n = c.caches.counters;
    const done = () =>
      n.get('edge_purge', 'repeat') + n.get('edge_purge_failed', 'repeat') >= n.get('edge_purge', 'first');
    for (let i = 0; i < 200 && !done(); i++) await sleep(50);
  }
  const createKit = (club: number, name: string) =>
    data(
      c.app,
      'mutation($i: CreateKitInput!) { createKit(input: $i) { id } }',
      { i: { clubId: String(club), seasonId: '1', brandId: '1', type: 'SPECIAL', name, primaryColour: 'teal' } },
      admin,
    );

  it('keeps a public GET at the edge: the repeat is an edge hit the API never sees, and revalidates there', async () => {
    const before = origin;
    const first = await edgeGet(5);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-edge')).toBe('MISS');
    const body = await first.text();
    expect(origin).toBe(before + 1);
    await c.caches.settled();

    const second = await edgeGet(5);
    expect(second.headers.get('x-edge')).toBe('HIT');
    expect(await second.text()).toBe(body);
    expect(origin).toBe(before + 1);
    // What the browser sees: revalidate every time; the edge's own headers are not passed on.
    expect(second.headers.get('cache-control')).toBe('public, no-cache');
    for (const h of ['surrogate-control', 'surrogate-key', 'cache-tag', 'xkey'])
      expect(second.headers.get(h), h).toBeNull();
    const etag = second.headers.get('etag')!;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);

    // The browser's revalidation is answered by the edge.
    const revalidated = await edgeGet(5, { 'if-none-match': etag });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get('x-edge')).toBe('HIT');
    expect(origin).toBe(before + 1);

    // A signed-in caller, and POST, go to the API.
    const signedIn = await edgeGet(5, { authorization: `Bearer ${admin}` });
    await signedIn.arrayBuffer();
    expect(signedIn.headers.get('x-edge')).toBe('MISS');
    expect(origin).toBe(before + 2);
    const viaPost = await fetch(`${varnish.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: KITS, variables: { club: '5' } }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(await viaPost.text()).toBe(body);
    expect(viaPost.headers.get('x-edge')).toBe('MISS');
    expect(origin).toBe(before + 3);
  });

  it('purges club A’s list at the edge when a kit is created for club A; club B’s stays an edge hit', async () => {
    await warm(1);
    await warm(2);
    const purges = c.caches.counters.get('edge_purge', 'first');
    await createKit(1, 'Edge Purge Special');
    expect(c.caches.counters.get('edge_purge', 'first')).toBe(purges + 1);

    const before = origin;
    const a = await edgeGet(1);
    expect(a.headers.get('x-edge')).toBe('MISS');
    expect(await namesOf(a)).toContain('Edge Purge Special');
    expect(origin).toBe(before + 1);

    const b = await edgeGet(2);
    expect(b.headers.get('x-edge')).toBe('HIT');
    expect(await namesOf(b)).not.toContain('Edge Purge Special');
    expect(origin).toBe(before + 1);
    expect(c.caches.counters.get('edge_purge_failed')).toBe(0);
  });

  it('purges again after a delay: an answer that left the API before the invalidation and reached the edge after the first purge', async () => {
    await repurgesDone(); // earlier tests' second purges are behind us
    const repeats = c.caches.counters.get('edge_purge', 'repeat');
    // Club 3's list is in Redis (POST passes the edge), not at the edge.
    await fetch(`${varnish.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ query: KITS, variables: { club: '3' } }),
      signal: AbortSignal.timeout(10_000),
    }).then((r) => r.arrayBuffer());
    await c.caches.settled();

    // The edge fetches it; the API's answer (the old list, from Redis) is held on its way.
    let release!: () => void;
    let held!: () => void;
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    hold = {
      match: (req) => req.method === 'GET' && (req.url ?? '').includes('%223%22'),
      until: new Promise<void>((resolve) => (release = resolve)),
      held,
    };
    const inFlight = edgeGet(3);
    await isHeld;
    hold = null;
    await createKit(3, 'Edge Late Special');
    release();
    const late = await inFlight;
    expect(late.headers.get('x-edge')).toBe('MISS');
    expect(await namesOf(late)).not.toContain('Edge Late Special');
    // The old answer landed at the edge after the first purge: kept there, for now.
    const stale = await edgeGet(3);
    expect(stale.headers.get('x-edge')).toBe('HIT');
    expect(await namesOf(stale)).not.toContain('Edge Late Special');

    // The second purge drops it.
    await repurgesDone();
    const after = await edgeGet(3);
    expect(after.headers.get('x-edge')).toBe('MISS');
    expect(await namesOf(after)).toContain('Edge Late Special');
    expect(c.caches.counters.get('edge_purge', 'repeat')).toBe(repeats + 1);
  });

  it('drops everything it keeps when an administrator purges all caches', async () => {
    await repurgesDone();
    await warm(4);
    await warm(5);
    const ok = await data<{ purgeAllCaches: boolean }>(c.app, 'mutation { purgeAllCaches }', {}, admin);
    expect(ok.purgeAllCaches).toBe(true);
    const before = origin;
    for (const club of [4, 5]) expect((await edgeGet(club)).headers.get('x-edge')).toBe('MISS');
    expect(origin).toBe(before + 2);
    expect(c.caches.counters.get('edge_purge_failed')).toBe(0);
  });

  it('takes PURGE only on its purge listener: the public one refuses it, from loopback too, and keeps what it holds', async () => {
    await repurgesDone();
    await warm(6);
    const before = origin;
    const refused = await purge(varnish.url, EDGE_ALL_KEY);
    await refused.arrayBuffer();
    expect(refused.status).toBe(403);
    const kept = await edgeGet(6);
    await kept.arrayBuffer();
    expect(kept.headers.get('x-edge')).toBe('HIT');

    // The purge listener serves nothing but purges.
    const notServed = await edgeGet(6, {}, varnish.purgeUrl);
    await notServed.arrayBuffer();
    expect(notServed.status).toBe(405);
    expect(origin).toBe(before);

    const purged = await purge(varnish.purgeUrl, EDGE_ALL_KEY);
    await purged.arrayBuffer();
    expect(purged.status).toBe(200);
    const gone = await edgeGet(6);
    await gone.arrayBuffer();
    expect(gone.headers.get('x-edge')).toBe('MISS');
    expect(origin).toBe(before + 1);
  });

  it('keeps one copy per media type the API answers, chosen by the first acceptable entry of Accept, as the API chooses it', async () => {
    await repurgesDone();
    const JSON_TYPE = 'application/json';
    const GQL_TYPE = 'application/graphql-response+json';
    const URQL =
      'application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed';
    // In order: each copy is filled by the first Accept of its type and served to the later ones.
    const cases: { accept: string; type: string; edge: 'HIT' | 'MISS' }[] = [
      { accept: 'application/json, application/graphql-response+json', type: JSON_TYPE, edge: 'MISS' },
      { accept: 'application/graphql-response+json', type: GQL_TYPE, edge: 'MISS' },
      { accept: 'application/graphql-response+json, application/json', type: GQL_TYPE, edge: 'HIT' },
      { accept: 'application/json', type: JSON_TYPE, edge: 'HIT' },
      { accept: URQL, type: GQL_TYPE, edge: 'HIT' },
      { accept: '*/*', type: JSON_TYPE, edge: 'HIT' },
      { accept: 'application/jsonx, application/json;charset=utf-8;q=1', type: JSON_TYPE, edge: 'HIT' },
      { accept: 'application/*;q=0.5', type: JSON_TYPE, edge: 'HIT' },
      { accept: 'text/event-stream, multipart/mixed, application/json', type: JSON_TYPE, edge: 'HIT' },
      { accept: 'application/json;charset=latin1, application/graphql-response+json', type: GQL_TYPE, edge: 'HIT' },
      { accept: ' Application/GraphQL-Response+JSON ; charset=UTF-8 , application/json', type: GQL_TYPE, edge: 'HIT' },
    ];
    // What the API itself answers to each Accept.
    for (const { accept, type } of cases) {
      const direct = await edgeGet(7, { accept }, apiUrl);
      await direct.arrayBuffer();
      expect(direct.headers.get('content-type'), accept).toContain(type);
    }
    await c.caches.settled();
    const before = origin;
    let body = '';
    for (const { accept, type, edge } of cases) {
      const r = await edgeGet(7, { accept });
      expect(r.status, accept).toBe(200);
      expect([r.headers.get('content-type'), r.headers.get('x-edge')], accept).toEqual([
        expect.stringContaining(type),
        edge,
      ]);
      const text = await r.text();
      if (!body) body = text;
      expect(text, accept).toBe(body);
    }
    expect(origin).toBe(before + 2);
  });

  it('passes what the API would not answer with JSON (a stream only, GraphiQL): never kept', async () => {
    for (const accept of ['text/event-stream', 'text/html, application/json', 'application/json;charset=latin1']) {
      const before = origin;
      for (let i = 0; i < 2; i++) {
        const r = await edgeGet(7, { accept });
        await r.arrayBuffer();
        expect(r.headers.get('x-edge'), accept).toBe('MISS');
        await c.caches.settled();
      }
      expect(origin, accept).toBe(before + 2);
    }
  });

  it('does not hand an edge hit the x-request-id of the request that filled it', async () => {
    await repurgesDone();
    const first = await edgeGet(8, { 'x-request-id': 'edge-first-request' });
    await first.arrayBuffer();
    expect([first.headers.get('x-edge'), first.headers.get('x-request-id')]).toEqual(['MISS', 'edge-first-request']);
    await c.caches.settled();
    const second = await edgeGet(8, { 'x-request-id': 'edge-second-request' });
    await second.arrayBuffer();
    expect(second.headers.get('x-edge')).toBe('HIT');
    expect(second.headers.get('x-request-id')).toBeNull();
    const revalidated = await edgeGet(8, {
      'if-none-match': second.headers.get('etag')!,
      'x-request-id': 'edge-third',
    });
    expect([revalidated.status, revalidated.headers.get('x-request-id')]).toEqual([304, null]);
  });
});
