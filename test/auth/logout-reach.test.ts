/**
 * Logout deletes the token first, then evicts it from the token cache of every instance: this one
 * at once, the others through Redis pub/sub (`<prefix>tokens:revoked`). No request racing the logout
 * can put the token back into a token cache, and while an instance's subscription is down its token
 * cache keeps entries for 1 s only.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashToken } from '../../src/auth/tokens.js';
import { buildCaches } from '../../src/caches.js';
import type { Database } from '../../src/db/client.js';
import { gql, silentLogger, tokensFor } from '../helpers/app.js';
import { cachedApp, dropPrefix, newPrefix, redisSkipReason, testRedis, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { ownRedis, ownRedisSkip } from '../helpers/redis-server.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const ME = '{ me { id username } }';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function me(c: CachedApp, token: string) {
  const response = await c.front.fetch('http://kitvault.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: ME }),
  });
  const body = (await response.json()) as {
    data?: { me: { username: string } | null } | null;
    errors?: { message: string; extensions: { code: string } }[];
  };
  return {
    cache: response.headers.get('x-cache'),
    code: body.errors?.[0]?.extensions.code,
    username: body.data?.me?.username,
  };
}

/** A private cached answer for `token` on `c`, served by the lean hit (so c's token cache holds the token). */
async function warm(c: CachedApp, token: string, username: string) {
  await me(c, token);
  await c.caches.settled();
  const hit = await me(c, token);
  expect(hit).toMatchObject({ cache: 'HIT', username });
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const redisSkip = redisSkipReason() || false;

describe.skipIf(redisSkip)(
  `logout across instances sharing a Redis${redisSkip ? ` (skipped: ${redisSkip})` : ''}`,
  () => {
    let redis: RedisClient;
    let listener: RedisClient;
    let prefix = '';
    let a: CachedApp;
    let b: CachedApp;

    beforeAll(async () => {
      prefix = newPrefix();
      redis = testRedis();
      listener = testRedis();
      a = await cachedApp(database, { backend: 'redis', redis, prefix, cacheDebug: false });
      b = await cachedApp(database, { backend: 'redis', redis, prefix, cacheDebug: false });
    });
    afterAll(async () => {
      await a?.caches.close();
      await b?.caches.close();
      listener?.disconnect();
      if (redis) {
        await dropPrefix(redis, prefix);
        redis.disconnect();
      }
    });

    it('a token verified on B, logged out on A, is refused on B within the pub/sub delivery time', async () => {
      const { token } = (await tokensFor(a.app, ['user21'])).get('user21')!;
      await warm(b, token, 'user21');
      expect(b.caches.tokens.userOf(hashToken(token))).toBeDefined();

      const published: string[] = [];
      await listener.subscribe(`${prefix}tokens:revoked`);
      listener.on('message', (_channel: string, message: string) => published.push(message));

      expect((await gql(a.app, 'mutation { logout }', {}, token)).data).toEqual({ logout: true });
      const loggedOutAt = performance.now();
      let answer = await me(b, token);
      while (answer.cache === 'HIT' && performance.now() - loggedOutAt < 2000) {
        await sleep(10);
        answer = await me(b, token);
      }
      const reachedAfterMs = performance.now() - loggedOutAt;
      expect(answer.cache).not.toBe('HIT');
      expect(answer.code).toBe('UNAUTHENTICATED');
      expect(reachedAfterMs).toBeLessThan(500);
      // The payload is the token's hash, never the token.
      await vi.waitFor(() => expect(published).toEqual([hashToken(token)]), { timeout: 1000 });
      // And B stays refusing (nothing puts it back).
      await sleep(50);
      expect(await me(b, token)).toMatchObject({ code: 'UNAUTHENTICATED' });
    });
  },
);

describe('logout on one instance', () => {
  let c: CachedApp;
  beforeAll(async () => {
    c = await cachedApp(database, { backend: 'memory', cacheDebug: false });
  });

  it('deletes the token before evicting it: a request verified while the delete runs cannot outlive the logout', async () => {
    const { token } = (await tokensFor(c.app, ['user22'])).get('user22')!;
    await warm(c, token, 'user22');
    const users = c.app.repos.users;
    const deleteToken = users.deleteToken;
    const inDelete = gate();
    const release = gate();
    const events: string[] = [];
    const spy = vi.spyOn(users, 'deleteToken').mockImplementation(async (hash) => {
      inDelete.open();
      await release.opened;
      const deleted = await deleteToken(hash);
      events.push('deleted');
      return deleted;
    });
    const forget = c.caches.tokens.forget.bind(c.caches.tokens);
    const evicted = vi.spyOn(c.caches.tokens, 'forget').mockImplementation((hash) => {
      events.push('evicted');
      forget(hash);
    });
    try {
      const logout = gql(c.app, 'mutation { logout }', {}, token);
      await inDelete.opened;
      // While the logout is deleting, a request with the token is (still) answered: it verifies the token.
      expect((await me(c, token)).username).toBe('user22');
      release.open();
      expect((await logout).data).toEqual({ logout: true });
    } finally {
      spy.mockRestore();
      evicted.mockRestore();
    }
    expect(events).toEqual(['deleted', 'evicted']);
    // Once logout has answered, the token opens nothing, on the lean hit or elsewhere.
    expect(await me(c, token)).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(c.caches.tokens.userOf(hashToken(token))).toBeUndefined();
  });

  it('a lookup that read the token before the delete cannot put it back after the eviction', async () => {
    const both = await tokensFor(c.app, ['user23']);
    const first = both.get('user23')!.token;
    const { token: second } = (await tokensFor(c.app, ['user23'])).get('user23')!;
    await warm(c, first, 'user23');
    const users = c.app.repos.users;
    const lookup = users.userByTokenHash;
    const read = gate();
    const release = gate();
    const spy = vi.spyOn(users, 'userByTokenHash').mockImplementationOnce(async (...args) => {
      const found = await lookup(...args);
      read.open();
      await release.opened;
      return found;
    });
    try {
      // A request with the second token reads it from the database (valid then) and is held there.
      const racing = me(c, second);
      await read.opened;
      expect((await gql(c.app, 'mutation { logout }', {}, second)).data).toEqual({ logout: true });
      release.open();
      expect((await racing).username).toBe('user23');
    } finally {
      spy.mockRestore();
    }
    expect(c.caches.tokens.userOf(hashToken(second))).toBeUndefined();
    const after = await me(c, second);
    expect(after.cache).not.toBe('HIT');
    expect(after.code).toBe('UNAUTHENTICATED');
    // The user's other session goes on.
    expect((await me(c, first)).username).toBe('user23');
  });
});

describe.skipIf(ownRedisSkip)(
  `while the subscription is down${ownRedisSkip ? ` (skipped: ${ownRedisSkip})` : ''}`,
  () => {
    it('the token cache is emptied and keeps entries 1 s only, until the subscription is back', async () => {
      const own = await ownRedis();
      await own.start();
      const caches = await buildCaches(
        {
          redisUrl: own.url,
          redisPrefix: 'kvtest:revocations:',
          redisTimeoutMs: 200,
          responseCache: true,
          entityCache: false,
          cacheDebug: false,
          redisProbeIntervalMs: 100,
        },
        silentLogger,
      );
      try {
        const hash = 'f'.repeat(64);
        expect(caches.tokens.isDegraded).toBe(false);
        caches.tokens.remember(hash, 1, caches.tokens.now(), 1e9);
        expect(caches.tokens.userOf(hash)).toBe(1);
        await own.stop();
        await vi.waitFor(() => expect(caches.tokens.isDegraded).toBe(true), { timeout: 3000, interval: 20 });
        expect(caches.tokens.userOf(hash)).toBeUndefined();
        caches.tokens.remember(hash, 1, caches.tokens.now(), 1e9);
        expect(caches.tokens.userOf(hash)).toBe(1);
        await sleep(1050);
        expect(caches.tokens.userOf(hash)).toBeUndefined();
        await own.start();
        await vi.waitFor(() => expect(caches.tokens.isDegraded).toBe(false), { timeout: 8000, interval: 50 });
      } finally {
        await caches.close();
        await own.stop();
      }
    });
  },
);
