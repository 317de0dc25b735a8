/**
 * Redis faults between one instance and a Redis the others still reach, staged with a TCP proxy:
 *  - a partition: the cut-off instance commits a rename it cannot invalidate; no instance serves the
 *    old name after the mutation answers, neither the connected one nor the cut-off one after the
 *    link heals (the invalidation is recorded in Postgres and applied by whoever can);
 *  - a black hole (bytes held, no error): at most one request waits out the Redis timeout, the
 *    others go straight to the database (circuit breaker), and caching resumes after it heals.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { connectRedis, createRedis, type RedisClient } from '../../src/cache/redis/client.js';
import type { Database } from '../../src/db/client.js';
import { invalidationLogRepository } from '../../src/db/repositories/invalidation-log.js';
import { tokensFor } from '../helpers/app.js';
import { cachedApp, dropPrefix, newPrefix, testRedis, viaFrontDoor, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const url = inject('redisUrl');
const skip = url ? false : inject('redisAbsentReason');
const TIMEOUT_MS = 200;
const KIT = 'query($id: ID!) { kit(id: $id) { id name } }';
const RENAME = 'mutation($id: ID!, $name: String!) { updateKit(input: { id: $id, name: $name }) { id name } }';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function ask(c: CachedApp, query: string, variables: Record<string, unknown>, token?: string) {
  const { status, cache, text } = await viaFrontDoor(c, query, variables, token);
  const body = JSON.parse(text) as { data?: { kit?: { name: string } } | null; errors?: unknown[] };
  return { status, cache, body };
}

async function until(condition: () => boolean, ms = 8_000) {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await sleep(20);
  expect(condition()).toBe(true);
}

let database: Database;
let admin = '';
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

describe('a Redis partition of one instance', () => {
  let shared: RedisClient;
  let cutOff: RedisClient;
  let proxy: TcpProxy;
  let prefix = '';
  let a: CachedApp; // reaches Redis through the proxy
  let b: CachedApp; // reaches Redis directly

  beforeAll(async () => {
    if (skip) return;
    prefix = newPrefix();
    const u = new URL(url!);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    cutOff = createRedis({ url: `redis://127.0.0.1:${proxy.port}`, timeoutMs: TIMEOUT_MS });
    expect(await connectRedis(cutOff)).toBeNull();
    shared = testRedis();
    a = await cachedApp(database, { backend: 'redis', redis: cutOff, prefix, redisProbeIntervalMs: 100 });
    b = await cachedApp(database, { backend: 'redis', redis: shared, prefix, redisProbeIntervalMs: 100 });
    a.caches.followInvalidations(100);
    b.caches.followInvalidations(100);
    admin = (await tokensFor(a.app, ['admin'])).get('admin')!.token;
  });
  afterAll(async () => {
    await a?.caches.close();
    await b?.caches.close();
    cutOff?.disconnect();
    await proxy?.close();
    if (shared) {
      await dropPrefix(shared, prefix);
      shared.disconnect();
    }
  });

  it.skipIf(skip)(
    `serves no old answer on either instance after a rename the cut-off one could not invalidate${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      for (const id of ['7', '8']) {
        await ask(b, KIT, { id });
        expect((await ask(b, KIT, { id })).cache).toBe('HIT');
        expect((await ask(a, KIT, { id })).cache).toBe('HIT');
      }
      proxy.cut();

      // Writer cut off, the other instance connected: the mutation answers once someone delivered it.
      const renamed = `Renamed in a partition ${Date.now()}`;
      const m = await ask(a, RENAME, { id: '7', name: renamed }, admin);
      expect(m.status).toBe(200);
      expect(m.body.errors).toBeUndefined();
      expect((await ask(b, KIT, { id: '7' })).body.data?.kit?.name).toBe(renamed);
      expect((await ask(a, KIT, { id: '7' })).body.data?.kit?.name).toBe(renamed);
      expect(a.caches.breaker?.current).toBe('open');

      // Then the link heals: the writer catches up before it serves from Redis again.
      proxy.heal();
      await until(() => a.caches.breaker?.current === 'closed');
      for (const c of [a, b]) {
        const again = await ask(c, KIT, { id: '7' });
        expect(again.body.data?.kit?.name).toBe(renamed);
      }
      expect((await ask(a, KIT, { id: '8' })).cache).toBe('HIT'); // caching resumed
      // Nothing is left to deliver.
      expect(await invalidationLogRepository(database.db).pending(10)).toEqual([]);
    },
  );

  it.skipIf(skip)('applies a recorded invalidation when nobody could deliver it, before serving again', async () => {
    // Both instances' view: the rename happens while the writer is cut off and the other instance
    // does not follow (as if it were cut off too); the record waits in Postgres.
    b.caches.followInvalidations(60_000); // effectively not following during this test
    await ask(a, KIT, { id: '9' });
    await until(() => a.caches.breaker?.current === 'closed');
    expect((await ask(a, KIT, { id: '9' })).cache).toBe('HIT');
    proxy.cut();
    const renamed = `Renamed with nobody to deliver it ${Date.now()}`;
    expect((await ask(a, RENAME, { id: '9', name: renamed }, admin)).body.errors).toBeUndefined();
    proxy.heal();
    await until(() => a.caches.breaker?.current === 'closed');
    expect((await ask(a, KIT, { id: '9' })).body.data?.kit?.name).toBe(renamed);
    expect((await ask(b, KIT, { id: '9' })).body.data?.kit?.name).toBe(renamed);
    expect(await invalidationLogRepository(database.db).pending(10)).toEqual([]);
    b.caches.followInvalidations(100);
  });
});

describe('a Redis black hole (bytes held, no error)', () => {
  let held: RedisClient;
  let proxy: TcpProxy;
  let prefix = '';
  let c: CachedApp;

  beforeAll(async () => {
    if (skip) return;
    prefix = newPrefix();
    const u = new URL(url!);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    held = createRedis({ url: `redis://127.0.0.1:${proxy.port}`, timeoutMs: TIMEOUT_MS });
    expect(await connectRedis(held)).toBeNull();
    c = await cachedApp(database, {
      backend: 'redis',
      redis: held,
      prefix,
      entityCache: true,
      redisProbeIntervalMs: 100,
    });
  });
  afterAll(async () => {
    await c?.caches.close();
    held?.disconnect();
    await proxy?.close();
    const cleaner = testRedis();
    await dropPrefix(cleaner, prefix);
    cleaner.disconnect();
  });

  it.skipIf(skip)('costs one Redis timeout, not one per request, and caches again once it heals', async () => {
    proxy.hold();
    const started = Date.now();
    for (let id = 40; id < 50; id++) {
      const r = await ask(c, KIT, { id: String(id) });
      expect(r.status).toBe(200);
      expect(r.body.errors).toBeUndefined();
      expect(r.body.data?.kit?.name).toEqual(expect.any(String));
    }
    const { counters } = c.caches;
    // The first commands timed out together and opened the breaker; everything after went straight to Postgres.
    expect(counters.get('redis_error')).toBeLessThanOrEqual(4);
    expect(counters.get('redis_short_circuit')).toBeGreaterThanOrEqual(10);
    expect(Date.now() - started).toBeLessThan(10 * TIMEOUT_MS);

    proxy.heal();
    await until(() => c.caches.breaker?.current === 'closed');
    await ask(c, KIT, { id: '40' });
    expect((await ask(c, KIT, { id: '40' })).cache).toBe('HIT');
  });
});
