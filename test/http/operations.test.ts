/**
 * Operations endpoints: /metrics moves with the traffic, /ready names what is failing (and nothing
 * of why: that is logged), /health lives.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedis } from '../../src/cache/redis/client.js';
import type { Database } from '../../src/db/client.js';
import { data, gql } from '../helpers/app.js';
import { cachedApp, dropPrefix, newPrefix, redisAvailable, redisSkipReason, testRedis } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { ownRedis, ownRedisSkip } from '../helpers/redis-server.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

/** A debug-level logger whose lines land in `logged`, parsed. */
function capturingLogger() {
  const logged: { msg?: string; err?: { message?: string } }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
  return { logger, logged };
}

/** The value of one sample line of the Prometheus text format. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[3] ?? '').split(',').filter(Boolean);
    if (want.every((w) => have.includes(w))) return Number(m[4]);
  }
  return 0;
}

describe('operations endpoints', () => {
  const skip = redisAvailable() ? false : redisSkipReason();
  const prefix = newPrefix();

  it.skipIf(skip)(
    `exposes counters at /metrics that move with requests${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const redis = testRedis();
      const { app, caches } = await cachedApp(database, { backend: 'redis', redis, prefix, entityCache: true });
      const scrape = async () => {
        const r = await app.fetch('http://kitvault.test/metrics');
        expect(r.status).toBe(200);
        expect(r.headers.get('content-type')).toContain('text/plain');
        return r.text();
      };
      const before = await scrape();
      const q = '{ kit(id: 7) { name club { name } } }';
      await data(app, q);
      await caches.settled();
      await data(app, q); // from Redis, and kept in process
      await data(app, q); // from process memory
      await data(app, 'query Named { brands { name } }');
      await caches.settled();
      const after = await scrape();
      const delta = (name: string, labels?: Record<string, string>) =>
        sample(after, name, labels) - sample(before, name, labels);
      expect(delta('kitvault_response_cache_requests_total', { result: 'hit' })).toBe(2);
      expect(delta('kitvault_response_cache_local_hits_total')).toBe(1);
      expect(delta('kitvault_response_cache_requests_total', { result: 'miss' })).toBe(2);
      expect(delta('kitvault_response_cache_writes_total')).toBe(2);
      expect(delta('kitvault_sql_statements_total')).toBeGreaterThan(0);
      expect(delta('kitvault_entity_cache_requests_total', { result: 'miss', type: 'Kit' })).toBe(1);
      expect(delta('kitvault_entity_cache_fills_total', { type: 'Kit' })).toBe(1);
      expect(
        sample(after, 'kitvault_graphql_request_duration_seconds_count', { operation: 'Named', cache: 'miss' }),
      ).toBe(1);
      expect(after).toContain('kitvault_redis_errors_total');
      expect(after).toContain('kitvault_l1_drop_delivery_seconds_bucket');
      expect(after).toContain('kitvault_l1_drop_unacknowledged_total');
      await dropPrefix(redis, prefix);
      redis.disconnect();
    },
  );

  it.skipIf(skip)('answers /ready 200 when Postgres and Redis answer, and caches the answer briefly', async () => {
    const redis = testRedis();
    const { app } = await cachedApp(database, { backend: 'redis', redis, prefix });
    const ping = vi.spyOn(redis, 'ping');
    const first = await app.fetch('http://kitvault.test/ready');
    const second = await app.fetch('http://kitvault.test/ready');
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ ready: true, checks: { postgres: 'ok', redis: 'ok' } });
    expect(second.status).toBe(200);
    expect(ping).toHaveBeenCalledTimes(1);
    redis.disconnect();
  });

  it('answers /ready 503 naming Redis when it is down, without its error text (logged), while queries still work', async () => {
    const dead = createRedis({ url: 'redis://127.0.0.1:1', timeoutMs: 100 });
    const { logger, logged } = capturingLogger();
    const { app } = await cachedApp(database, { backend: 'redis', redis: dead, prefix, app: { logger } });
    const r = await app.fetch('http://kitvault.test/ready');
    expect(r.status).toBe(503);
    const text = await r.text();
    expect(JSON.parse(text)).toEqual({ ready: false, checks: { postgres: 'ok', redis: 'failing' } });
    const cause = logged.find((l) => l.msg === 'readiness: redis failing')?.err?.message;
    expect(cause).toBeTruthy();
    expect(text).not.toContain(cause!);
    const q = await gql(app, '{ kit(id: 1) { id } }');
    expect(q.status).toBe(200);
    expect(q.data?.kit).toEqual({ id: '1' });
    dead.disconnect();
  });

  it.skipIf(ownRedisSkip)(
    `answers /ready 503 with no error text when its own Redis stops${ownRedisSkip ? ` (skipped: ${ownRedisSkip})` : ''}`,
    async () => {
      const own = await ownRedis();
      await own.start();
      const redis = createRedis({ url: own.url, timeoutMs: 200 });
      const { logger, logged } = capturingLogger();
      const { app } = await cachedApp(database, { backend: 'redis', redis, prefix, app: { logger } });
      await own.stop();
      const r = await app.fetch('http://kitvault.test/ready');
      expect(r.status).toBe(503);
      const text = await r.text();
      expect(JSON.parse(text)).toEqual({ ready: false, checks: { postgres: 'ok', redis: 'failing' } });
      const cause = logged.find((l) => l.msg === 'readiness: redis failing')?.err?.message;
      expect(cause).toBeTruthy();
      expect(text).not.toContain(cause!);
      redis.disconnect();
    },
  );

  it('serves /health and echoes a request id', async () => {
    const { app } = await cachedApp(database, { backend: 'memory' });
    expect((await app.fetch('http://kitvault.test/health')).status).toBe(200);
    const given = await app.fetch('http://kitvault.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'trace-123' },
      body: JSON.stringify({ query: '{ brands { id } }' }),
    });
    expect(given.headers.get('x-request-id')).toBe('trace-123');
    const made = await app.fetch('http://kitvault.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'not valid!' },
      body: JSON.stringify({ query: '{ brands { id } }' }),
    });
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});
