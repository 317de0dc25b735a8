/**
 * The edge when Redis fails: a mutation made while the API cannot reach Redis still purges the edge
 * at once (the API stops trusting Redis, so the edge's refetch reads Postgres), and when Redis is
 * back and the durable record is delivered, the edge is purged again. Real Varnish, a redis-server
 * of the test's own that it stops, real Postgres.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { data, login } from '../helpers/app.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { ownRedis, ownRedisSkip, type OwnRedis } from '../helpers/redis-server.js';
import { startVarnish, varnishSkip, type OwnVarnish } from './varnish.js';

const skip = varnishSkip || ownRedisSkip;
const KITS = 'query ClubKits($club: ID!) { kits(clubId: $club, first: 100) { totalCount edges { node { id name } } } }';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(skip)(`the edge while Redis is down${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let database: Database;
  let own: OwnRedis;
  let redis: Redis;
  let c: CachedApp;
  let server: Server;
  let varnish: OwnVarnish;
  let admin = '';

  beforeAll(async () => {
    database = await openTestDatabase();
    own = await ownRedis();
    await own.start();
    redis = new Redis(own.url, { maxRetriesPerRequest: 1, commandTimeout: 300 });
    redis.on('error', () => {});
    server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    varnish = await startVarnish((server.address() as AddressInfo).port);
    c = await cachedApp(database, {
      backend: 'redis',
      redis,
      prefix: 'edge-outage:',
      cacheDebug: false,
      edgePurgeUrls: [varnish.purgeUrl],
      edgeRepurgeDelayMs: 0, // one purge per delivery: the counts below are exact
      redisProbeIntervalMs: 100,
    });
    server.on('request', (req, res) => c.front.listener(req, res));
    admin = await login(c.app, 'admin');
  }, 60_000);

  afterAll(async () => {
    await varnish?.stop();
    await c?.caches.close().catch(() => {});
    await new Promise((resolve) => server?.close(resolve));
    redis?.disconnect();
    await own?.stop();
    await database?.close();
  }, 30_000);

  const edgeGet = (club: string) =>
    fetch(
      `${varnish.url}/graphql?query=${encodeURIComponent(KITS)}&variables=${encodeURIComponent(JSON.stringify({ club }))}`,
      { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(10_000) },
    );
  const namesOf = async (r: Response) =>
    ((await r.json()) as { data: { kits: { edges: { node: { name: string } }[] } } }).data.kits.edges.map(
      (e) => e.node.name,
    );

  it('purges the edge for a mutation the API could not tell Redis about, and again once the record is delivered', async () => {
    await (await edgeGet('8')).arrayBuffer();
    await c.caches.settled();
    const warm = await edgeGet('8');
    expect(warm.headers.get('x-edge')).toBe('HIT');
    await warm.arrayBuffer();

    await own.stop();
    const purged = c.caches.counters.get('edge_purge', 'first');
    await data(
      c.app,
      'mutation($i: CreateKitInput!) { createKit(input: $i) { id } }',
      { i: { clubId: '8', seasonId: '1', brandId: '1', type: 'SPECIAL', name: 'Outage Kit', primaryColour: 'teal' } },
      admin,
    );
    expect(c.caches.counters.get('edge_purge', 'first')).toBe(purged + 1);
    const during = await edgeGet('8');
    expect(during.headers.get('x-edge')).toBe('MISS');
    expect(await namesOf(during)).toContain('Outage Kit');

    // Redis back: the breaker's recovery delivers the record, which purges the edge once more.
    await own.start();
    for (let i = 0; i < 200 && c.caches.counters.get('edge_purge', 'first') < purged + 2; i++) await sleep(50);
    expect(c.caches.counters.get('edge_purge', 'first')).toBe(purged + 2);
    const after = await edgeGet('8');
    expect(await namesOf(after)).toContain('Outage Kit');
    expect(c.caches.counters.get('edge_purge_failed')).toBe(0);
  }, 60_000);
});
