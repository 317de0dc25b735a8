/**
 * Failed sign-ins are limited per username and per client address (Redis when present, in memory
 * otherwise or when Redis fails): over a limit, RATE_LIMITED with `extensions.retryAfterSeconds` and
 * an HTTP Retry-After; unknown names count and answer like known ones; a success costs nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  addressKey,
  LoginThrottle,
  MemoryAttemptCounters,
  redisAttemptCounters,
  type LoginLimits,
} from '../../src/auth/login-throttle.js';
import { loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { clientAddressOf } from '../../src/http/client-address.js';
import { countSql, gql, testApp } from '../helpers/app.js';
import {
  cachedApp,
  dropPrefix,
  keysUnder,
  newPrefix,
  redisSkipReason,
  testRedis,
  type CachedApp,
} from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { freePort } from '../helpers/redis-server.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token } }';
const limits = (l: Partial<LoginLimits>): LoginLimits => ({
  maxPerUsername: 3,
  maxPerAddress: 1000,
  windowSeconds: 60,
  ...l,
});

describe('per username', () => {
  it('refuses the attempt after the limit with RATE_LIMITED, retryAfterSeconds and Retry-After, even with the right password', async () => {
    const app = testApp(database, { loginThrottle: new LoginThrottle(limits({ maxPerUsername: 3 })) });
    for (let i = 0; i < 3; i++) {
      expect((await gql(app, LOGIN, { u: 'user31', p: 'wrong' })).errors?.[0]?.extensions?.code).toBe(
        'UNAUTHENTICATED',
      );
    }
    for (const p of ['wrong', 'kitvault']) {
      const r = await gql(app, LOGIN, { u: 'user31', p });
      expect(r.data).toBeNull();
      expect(r.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      const seconds = r.errors?.[0]?.extensions?.retryAfterSeconds as number;
      expect(seconds).toBeGreaterThanOrEqual(1);
      expect(seconds).toBeLessThanOrEqual(60);
      expect(r.headers.get('retry-after')).toBe(String(seconds));
    }
    // Another name is not affected.
    expect((await gql(app, LOGIN, { u: 'user32', p: 'kitvault' })).data?.login?.token).toEqual(expect.any(String));
    // And a plain failure carries no Retry-After.
    expect((await gql(app, LOGIN, { u: 'user32', p: 'wrong' })).headers.get('retry-after')).toBeNull();
  });

  it('counts unknown names like known ones, and answers them alike (no enumeration)', async () => {
    const app = testApp(database, { loginThrottle: new LoginThrottle(limits({ maxPerUsername: 2 })) });
    const answers = async (u: string) => {
      const out: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await gql(app, LOGIN, { u, p: 'wrong' });
        out.push(`${r.errors?.[0]?.extensions?.code}: ${r.errors?.[0]?.message}`);
      }
      return out;
    };
    const known = await answers('user33');
    const unknown = await answers('nobody-called-this');
    expect(unknown).toEqual(known);
    expect(known[2]).toMatch(/^RATE_LIMITED/);
  });

  it('spends the same work on an unknown name as on a wrong password (the dummy scrypt verify stays)', async () => {
    const app = testApp(database, { loginThrottle: new LoginThrottle(limits({ maxPerUsername: 1000 })) });
    const timed = async (u: string) => {
      const times: number[] = [];
      const statements: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        const { statements: s } = await countSql(database, () => gql(app, LOGIN, { u, p: 'wrong' }));
        times.push(performance.now() - started);
        statements.push(s.length);
      }
      return { median: times.sort((x, y) => x - y)[2]!, statements };
    };
    const wrong = await timed('user38');
    const unknown = await timed('nobody-at-all');
    expect(unknown.statements).toEqual(wrong.statements);
    // Lenient (a shared machine): without the dummy verify an unknown name answers some 50 times faster.
    const ratio = unknown.median / wrong.median;
    expect(ratio).toBeGreaterThan(0.4);
    expect(ratio).toBeLessThan(2.5);
  });

  it('gives a successful sign-in back: only failures count', async () => {
    const app = testApp(database, { loginThrottle: new LoginThrottle(limits({ maxPerUsername: 2 })) });
    for (let i = 0; i < 6; i++) {
      expect((await gql(app, LOGIN, { u: 'user34', p: 'kitvault' })).data?.login?.token).toEqual(expect.any(String));
    }
    await gql(app, LOGIN, { u: 'user34', p: 'wrong' });
    expect((await gql(app, LOGIN, { u: 'user34', p: 'kitvault' })).errors).toBeUndefined();
  });

  it('is on by default (10 failures per username per 5 minutes)', async () => {
    const app = testApp(database);
    for (let i = 0; i < 10; i++) await gql(app, LOGIN, { u: 'user35', p: 'wrong' });
    const r = await gql(app, LOGIN, { u: 'user35', p: 'kitvault' });
    expect(r.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(r.errors?.[0]?.extensions?.retryAfterSeconds).toBeGreaterThan(200);
  });
});

describe('per client address, over node:http', () => {
  let server: Server;
  let base = '';
  let c: CachedApp;
  const start = async (trustProxy: number, lean = true) => {
    c = await cachedApp(database, { backend: 'memory' });
    // The app the front door serves, with a throttle of 3 failures per address (and many per name).
    const throttled = testApp(database, {
      loginThrottle: new LoginThrottle(limits({ maxPerUsername: 1000, maxPerAddress: 3 })),
      trustProxy,
      tokens: c.caches.tokens,
      responseCache: c.caches.responseCache,
    });
    const { createFrontDoor } = await import('../../src/http/front-door.js');
    server = createServer(createFrontDoor(throttled, lean ? c.caches.responseCache : null).listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };
  const stop = () => new Promise((resolve) => server?.close(resolve));
  const attempt = async (username: string, headers: Record<string, string> = {}) => {
    const r = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query: LOGIN, variables: { u: username, p: 'wrong' } }),
      signal: AbortSignal.timeout(5000),
    });
    const body = (await r.json()) as { errors: { extensions: { code: string; retryAfterSeconds?: number } }[] };
    return { code: body.errors[0]!.extensions.code, retryAfter: r.headers.get('retry-after') };
  };

  it('limits failures from one address, whatever names they try, and ignores X-Forwarded-For by default', async () => {
    await start(0);
    try {
      for (let i = 0; i < 3; i++) expect((await attempt(`spray-${i}`)).code).toBe('UNAUTHENTICATED');
      const refused = await attempt('spray-3', { 'x-forwarded-for': '203.0.113.9' });
      expect(refused.code).toBe('RATE_LIMITED');
      expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    } finally {
      await stop();
    }
  });

  it('also without the lean hit in front (yoga’s own node adapter)', async () => {
    await start(0, false);
    try {
      for (let i = 0; i < 3; i++) expect((await attempt(`plain-${i}`)).code).toBe('UNAUTHENTICATED');
      expect((await attempt('plain-3')).code).toBe('RATE_LIMITED');
    } finally {
      await stop();
    }
  });

  it('with TRUST_PROXY, counts by the address the proxy saw', async () => {
    await start(1);
    try {
      for (let i = 0; i < 3; i++) {
        expect((await attempt(`proxied-${i}`, { 'x-forwarded-for': '198.51.100.7' })).code).toBe('UNAUTHENTICATED');
      }
      expect((await attempt('proxied-3', { 'x-forwarded-for': '198.51.100.7' })).code).toBe('RATE_LIMITED');
      // Another client behind the same proxy; a forged left-most entry does not help the first one.
      expect((await attempt('proxied-4', { 'x-forwarded-for': '198.51.100.8' })).code).toBe('UNAUTHENTICATED');
      expect((await attempt('proxied-5', { 'x-forwarded-for': '10.9.9.9, 198.51.100.7' })).code).toBe('RATE_LIMITED');
    } finally {
      await stop();
    }
  });
});

const redisSkip = redisSkipReason() || false;

describe.skipIf(redisSkip)(`with Redis${redisSkip ? ` (skipped: ${redisSkip})` : ''}`, () => {
  let redis: RedisClient;
  let prefix = '';
  beforeAll(() => {
    prefix = newPrefix();
    redis = testRedis();
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it('shares the counters between instances, in one script call per attempt, under the key prefix', async () => {
    // No in-process cache layer: its drop channel's heartbeats would be counted beside the script.
    const options = { backend: 'redis', redis, prefix, loginMaxAttempts: 4, responseL1Mb: 0 } as const;
    const a = await cachedApp(database, options);
    const b = await cachedApp(database, options);
    try {
      const send = vi.spyOn(redis, 'sendCommand');
      for (const c of [a, b, a, b]) {
        send.mockClear();
        expect((await gql(c.app, LOGIN, { u: 'user36', p: 'wrong' })).errors?.[0]?.extensions?.code).toBe(
          'UNAUTHENTICATED',
        );
        // One round trip: the counting script.
        expect(send.mock.calls.map(([command]) => (command as { name: string }).name)).toEqual(['eval']);
      }
      send.mockRestore();
      const r = await gql(b.app, LOGIN, { u: 'user36', p: 'kitvault' });
      expect(r.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
      expect(r.headers.get('retry-after')).toMatch(/^\d+$/);
      const keys = await keysUnder(redis, `${prefix}{login}:`);
      expect(keys).toHaveLength(1);
      expect(await redis.pttl(keys[0]!)).toBeGreaterThan(290_000);
    } finally {
      await a.caches.close();
      await b.caches.close();
    }
  });

  it('fails open to the in-memory counters when Redis fails: still limited, never locked out', async () => {
    const dead = new Redis(`redis://127.0.0.1:${await freePort()}`, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const errors: unknown[] = [];
    const throttle = new LoginThrottle(limits({ maxPerUsername: 2 }), redisAttemptCounters(dead, prefix), (e) =>
      errors.push(e),
    );
    const app = testApp(database, { loginThrottle: throttle });
    expect((await gql(app, LOGIN, { u: 'user37', p: 'kitvault' })).data?.login?.token).toEqual(expect.any(String));
    await gql(app, LOGIN, { u: 'user37', p: 'wrong' });
    await gql(app, LOGIN, { u: 'user37', p: 'wrong' });
    expect((await gql(app, LOGIN, { u: 'user37', p: 'kitvault' })).errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(errors.length).toBeGreaterThan(0);
    dead.disconnect();
  });
});

describe('pieces', () => {
  it('counts in fixed windows in memory, and gives back only what still counts', async () => {
    const m = new MemoryAttemptCounters();
    expect(await m.take(['k'], 50)).toEqual([{ count: 1, resetMs: 50 }]);
    expect((await m.take(['k'], 50))[0]!.count).toBe(2);
    await m.give(['k']);
    expect((await m.take(['k'], 50))[0]!.count).toBe(2);
    await new Promise((r) => setTimeout(r, 60));
    expect((await m.take(['k'], 50))[0]!.count).toBe(1);
  });

  it('keys addresses: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64, garbage not at all', () => {
    expect(addressKey('192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(addressKey('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:DB8:0001:2::9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('not an address')).toBeUndefined();
    expect(addressKey(undefined)).toBeUndefined();
  });

  it('takes the client address from the socket, and from X-Forwarded-For only as far as proxies are trusted', () => {
    const h = (xff?: string) => new Headers(xff ? { 'x-forwarded-for': xff } : {});
    expect(clientAddressOf({ clientAddress: '10.0.0.1' }, h('1.1.1.1'))).toBe('10.0.0.1');
    expect(clientAddressOf({ req: { socket: { remoteAddress: '10.0.0.2' } } }, h())).toBe('10.0.0.2');
    expect(clientAddressOf({ clientAddress: '10.0.0.1' }, h('6.6.6.6, 1.1.1.1'), 1)).toBe('1.1.1.1');
    expect(clientAddressOf({ clientAddress: '10.0.0.1' }, h('6.6.6.6, 1.1.1.1, 10.0.0.5'), 2)).toBe('1.1.1.1');
    expect(clientAddressOf({ clientAddress: '10.0.0.1' }, h(), 1)).toBe('10.0.0.1');
    expect(clientAddressOf({}, h())).toBeUndefined();
  });

  it('reads its settings from the environment', () => {
    const d = loadConfig({});
    expect(d).toMatchObject({
      tokenTtlSeconds: 2_592_000,
      tokenIdleSeconds: 604_800,
      loginMaxAttempts: 10,
      loginMaxAttemptsPerAddress: 50,
      loginWindowSeconds: 300,
      trustProxy: 0,
    });
    expect(loadConfig({ TRUST_PROXY: 'on' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: '2' }).trustProxy).toBe(2);
    expect(() => loadConfig({ TRUST_PROXY: 'maybe' })).toThrow(/TRUST_PROXY/);
    expect(() => loadConfig({ TOKEN_TTL_SECONDS: '10' })).toThrow(/TOKEN_TTL_SECONDS/);
  });
});
