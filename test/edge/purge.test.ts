/**
 * Purging the edge: what the Varnish purger sends (against a real HTTP server standing in for
 * Varnish), how failures are bounded, counted and never thrown, the second purge and shutdown, and
 * a mutation whose edge purge fails still answering.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheCounters } from '../../src/cache/counters.js';
import { EDGE_ALL_KEY, EDGE_KEYS_MAX_BYTES, edgeKey, edgeKeysOf } from '../../src/cache/edge/keys.js';
import { purgeTwice } from '../../src/cache/edge/purge-twice.js';
import type { EdgePurger } from '../../src/cache/edge/purger.js';
import { createVarnishPurger } from '../../src/cache/edge/varnish-purger.js';
import type { Database } from '../../src/db/client.js';
import { data, login } from '../helpers/app.js';
import { cachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

type Seen = { method: string; url: string; keys: string };
type FakeEdge = {
  url: string;
  seen: Seen[];
  status: number;
  silent: boolean;
  server: Server;
  onPurge?: () => void;
};

/** An HTTP server in Varnish's place: records purges, answers `status`, or nothing when `silent`. */
async function fakeEdge(): Promise<FakeEdge> {
  const edge: FakeEdge = { url: '', seen: [], status: 200, silent: false, server: createServer() };
  edge.server.on('request', (req: IncomingMessage, res) => {
    edge.seen.push({ method: req.method ?? '', url: req.url ?? '', keys: String(req.headers['xkey-purge'] ?? '') });
    edge.onPurge?.();
    if (edge.silent) return; // never answers: the purger's timeout must end it
    res.writeHead(edge.status).end();
  });
  await new Promise<void>((resolve) => edge.server.listen(0, '127.0.0.1', resolve));
  edge.url = `http://127.0.0.1:${(edge.server.address() as AddressInfo).port}`;
  return edge;
}
const closeEdge = (edge: FakeEdge) =>
  new Promise((resolve) => {
    edge.server.closeAllConnections();
    edge.server.close(resolve);
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the Varnish purger', () => {
  let one: FakeEdge;
  let two: FakeEdge;
  beforeAll(async () => {
    one = await fakeEdge();
    two = await fakeEdge();
  });
  afterAll(async () => {
    await closeEdge(one);
    await closeEdge(two);
  });

  it('sends PURGE with the encoded keys to every Varnish, in batches that fit a header', async () => {
    one.seen = [];
    two.seen = [];
    const purger = createVarnishPurger({ urls: [one.url, `${two.url}/`], timeoutMs: 2000 });
    await purger.purge(['Kit.club:1', 'Club.country:united kingdom', 'Kit:9']);
    for (const edge of [one, two]) {
      expect(edge.seen).toEqual([
        { method: 'PURGE', url: '/', keys: 'Kit.club:1 Club.country:united%20kingdom Kit:9' },
      ]);
    }
    const many = Array.from({ length: 2000 }, (_, i) => `Kit:${i}`);
    one.seen = [];
    await createVarnishPurger({ urls: [one.url], timeoutMs: 2000 }).purge(many);
    expect(one.seen.length).toBeGreaterThan(1);
    for (const s of one.seen) expect(s.keys.length).toBeLessThanOrEqual(EDGE_KEYS_MAX_BYTES);
    expect(one.seen.flatMap((s) => s.keys.split(' ')).sort()).toEqual(many.map(edgeKey).sort());
  });

  it('rejects when a Varnish refuses, or does not answer within the timeout, after trying every one', async () => {
    one.seen = [];
    two.seen = [];
    one.status = 403;
    const purger = createVarnishPurger({ urls: [one.url, two.url], timeoutMs: 300 });
    await expect(purger.purge(['Kit:1'])).rejects.toThrow(/403/);
    expect(two.seen).toHaveLength(1);
    one.status = 200;
    two.silent = true;
    await expect(purger.purge(['Kit:1'])).rejects.toThrow(/1 of 2 edge purges failed/);
    two.silent = false;
    const closed = createVarnishPurger({ urls: ['http://127.0.0.1:1'], timeoutMs: 300 });
    await expect(closed.purge(['Kit:1'])).rejects.toThrow(/edge purges failed/);
  });
});

describe('purging twice', () => {
  const recording = (fail = false) => {
    const calls: string[][] = [];
    const purger: EdgePurger = {
      async purge(tags) {
        calls.push([...tags]);
        if (fail) throw new Error('edge unreachable');
      },
      async purgeAll() {
        calls.push(['(everything)']);
        if (fail) throw new Error('edge unreachable');
      },
    };
    return { calls, purger };
  };

  it('purges now and once more after the delay', async () => {
    const { calls, purger } = recording();
    const counters = new CacheCounters();
    const edge = purgeTwice({ purger, repurgeDelayMs: 100, counters, report: () => {} });
    await edge.purge(['Kit:1']);
    expect(calls).toEqual([['Kit:1']]);
    for (let i = 0; i < 100 && calls.length < 2; i++) await sleep(20);
    expect(calls).toEqual([['Kit:1'], ['Kit:1']]);
    expect(counters.get('edge_purge', 'first')).toBe(1);
    expect(counters.get('edge_purge', 'repeat')).toBe(1);
    await edge.close();
  });

  it('counts and reports a failed purge, never rejects, and repeats it still', async () => {
    const { calls, purger } = recording(true);
    const counters = new CacheCounters();
    const reported: unknown[] = [];
    const edge = purgeTwice({ purger, repurgeDelayMs: 50, counters, report: (e) => reported.push(e) });
    await expect(edge.purge(['Kit:2'])).resolves.toBe(false);
    for (let i = 0; i < 100 && calls.length < 2; i++) await sleep(20);
    expect(counters.get('edge_purge_failed', 'first')).toBe(1);
    expect(counters.get('edge_purge_failed', 'repeat')).toBe(1);
    expect(counters.get('edge_purge')).toBe(0);
    expect(reported).toHaveLength(2);
    await edge.close();
  });

  it('cancels the second purges on close', async () => {
    const { calls, purger } = recording();
    const edge = purgeTwice({ purger, repurgeDelayMs: 100, counters: new CacheCounters(), report: () => {} });
    await edge.purge(['Kit:3']);
    await edge.close();
    await sleep(300);
    expect(calls).toHaveLength(1);
    await edge.purge(['Kit:4']); // after close: nothing
    expect(calls).toHaveLength(1);
  });
});

describe('the API purging the edge', () => {
  let database: Database;
  let edge: FakeEdge;
  beforeAll(async () => {
    database = await openTestDatabase();
    edge = await fakeEdge();
  });
  afterAll(async () => {
    await closeEdge(edge);
    await database?.close();
  });

  it('still answers, counts the failure, and told the edge only after the response store', async () => {
    edge.status = 503;
    const c = await cachedApp(database, {
      backend: 'memory',
      edgePurgeUrls: [edge.url],
      edgePurgeTimeoutMs: 500,
      edgeRepurgeDelayMs: 60_000,
    });
    const admin = await login(c.app, 'admin');
    // What the response store had been told when the purge arrived.
    const invalidatedAtPurge: number[] = [];
    edge.onPurge = () => invalidatedAtPurge.push(c.caches.counters.get('response_invalidation'));
    const result = await data<{ updateBrand: { id: string } }>(
      c.app,
      'mutation { updateBrand(input: { id: 4, name: "Edge Brand" }) { id } }',
      {},
      admin,
    );
    expect(result.updateBrand.id).toBe('4');
    expect(c.caches.counters.get('edge_purge_failed', 'first')).toBe(1);
    expect(edge.seen.at(-1)?.keys.split(' ')).toContain('Brand:4');
    expect(invalidatedAtPurge).toHaveLength(1);
    expect(invalidatedAtPurge[0]).toBeGreaterThan(0);
    // Shutdown clears the pending second purge (a minute away).
    await c.caches.close();
    const seen = edge.seen.length;
    await sleep(100);
    expect(edge.seen.length).toBe(seen);
  });

  it('an administrator’s purge reaches the edge: one entity by its tag, or everything by the key every kept answer carries', async () => {
    edge.status = 200;
    edge.onPurge = undefined;
    const c = await cachedApp(database, { backend: 'memory', edgePurgeUrls: [edge.url], edgeRepurgeDelayMs: 0 });
    const admin = await login(c.app, 'admin');
    edge.seen.length = 0;
    await data(c.app, 'mutation { purgeCache(typename: "Brand", id: 3) }', {}, admin);
    expect(edge.seen.map((s) => s.keys)).toEqual(['Brand:3']);
    await data(c.app, 'mutation { purgeAllCaches }', {}, admin);
    expect(edge.seen.map((s) => s.keys)).toEqual(['Brand:3', EDGE_ALL_KEY]);
    expect(edgeKeysOf(['Brand:3'])?.split(' ')).toContain(EDGE_ALL_KEY);
    expect(c.caches.counters.get('edge_purge_failed')).toBe(0);
    await c.caches.close();
  });

  it('a purge of everything from the change log (a TRUNCATE, a bulk write) reaches the edge as well', async () => {
    const told: string[] = [];
    const c = await cachedApp(database, {
      backend: 'memory',
      edgePurger: { purge: async (tags) => void told.push(...tags), purgeAll: async () => void told.push('(all)') },
      edgeRepurgeDelayMs: 0,
    });
    expect(await c.caches.invalidator.purgeAll()).toBe(true);
    expect(told).toEqual(['(all)']);
    await c.caches.close();
  });
});
