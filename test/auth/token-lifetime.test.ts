/**
 * Tokens expire: a lifetime from login and an idle timeout, both checked on every use in the
 * lookup's one statement; `last_used_at` moves at most once a minute; the lean hit's token cache
 * never vouches for a token past its expiry.
 */
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenCache } from '../../src/auth/token-cache.js';
import { hashToken } from '../../src/auth/tokens.js';
import type { Database } from '../../src/db/client.js';
import { countSql, gql, login, testApp, tokensFor } from '../helpers/app.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const ME = '{ me { id username } }';
const DAY = 86_400;

/** Moves a token's clocks back (as if it had been issued and last used that long ago). */
async function age(token: string, createdSecondsAgo: number, lastUsedSecondsAgo = createdSecondsAgo) {
  await database.db.execute(
    sql`update api_tokens set created_at = now() - make_interval(secs => ${createdSecondsAgo}::float8),
        last_used_at = now() - make_interval(secs => ${lastUsedSecondsAgo}::float8)
        where token_hash = ${hashToken(token)}`,
  );
}

/** Rows of a raw statement, on postgres-js (an array) and PGlite (`{ rows }`) alike. */
const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows);

async function lastUsedAgoSeconds(token: string): Promise<number> {
  const rows = rowsOf<{ ago: number | string }>(
    await database.db.execute(
      sql`select extract(epoch from now() - last_used_at)::float8 as ago from api_tokens where token_hash = ${hashToken(token)}`,
    ),
  );
  return Number(rows[0]!.ago);
}

describe('token lifetime (defaults: 30 days from login, 7 days unused)', () => {
  it('refuses a token older than its lifetime, even one used a moment ago: UNAUTHENTICATED, saying it expired', async () => {
    const app = testApp(database);
    const { token } = (await tokensFor(app, ['user11'])).get('user11')!;
    expect((await gql(app, ME, {}, token)).data?.me?.username).toBe('user11');
    await age(token, 30 * DAY + 60, 5);
    const r = await gql(app, ME, {}, token);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(r.errors?.[0]?.message).toMatch(/expired/);
    expect(r.errors?.[0]?.message).toMatch(/30 days/);
  });

  it('refuses a token unused for longer than the idle timeout, however young', async () => {
    const app = testApp(database);
    const { token } = (await tokensFor(app, ['user12'])).get('user12')!;
    await age(token, 8 * DAY, 7 * DAY + 60);
    const r = await gql(app, ME, {}, token);
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(r.errors?.[0]?.message).toMatch(/expired/);
    // An expired token opens no mutation either, and cannot even log itself out.
    expect((await gql(app, 'mutation { logout }', {}, token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('keeps a token in use alive: its idle timeout counts from its last use', async () => {
    const app = testApp(database);
    const { token } = (await tokensFor(app, ['user13'])).get('user13')!;
    await age(token, 20 * DAY, 6 * DAY);
    expect((await gql(app, ME, {}, token)).data?.me?.username).toBe('user13');
    expect(await lastUsedAgoSeconds(token)).toBeLessThan(5);
    await age(token, 20 * DAY, 6 * DAY);
    expect((await gql(app, ME, {}, token)).data?.me?.username).toBe('user13');
  });

  it('honours configured lifetimes', async () => {
    const app = testApp(database, { tokenLifetime: { ttlSeconds: 3600, idleSeconds: 600 } });
    const { token } = (await tokensFor(app, ['user14'])).get('user14')!;
    await age(token, 3000, 500);
    expect((await gql(app, ME, {}, token)).data?.me?.username).toBe('user14');
    await age(token, 3000, 700);
    expect((await gql(app, ME, {}, token)).errors?.[0]?.message).toBe(
      'the token has expired (a token lasts 1 hour from login and 10 minutes unused); log in again',
    );
    await age(token, 3700, 5);
    expect((await gql(app, ME, {}, token)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('checks in one statement, and writes last_used_at only when it is over a minute old', async () => {
    const app = testApp(database);
    const { token } = (await tokensFor(app, ['user15'])).get('user15')!;
    await age(token, 100, 30);
    const { statements } = await countSql(database, () => gql(app, ME, {}, token));
    const tokenStatements = statements.filter((s) => s.includes('api_tokens'));
    expect(tokenStatements).toHaveLength(1);
    // Used 30 s ago: not written.
    expect(await lastUsedAgoSeconds(token)).toBeGreaterThanOrEqual(29);
    await age(token, 100, 61);
    const again = await countSql(database, () => gql(app, ME, {}, token));
    expect(again.statements.filter((s) => s.includes('api_tokens'))).toHaveLength(1);
    expect(await lastUsedAgoSeconds(token)).toBeLessThan(5);
  });

  it('writes last_used_at sooner when the idle timeout is short (a tenth of it), so a token in use never idles out', async () => {
    const app = testApp(database, { tokenLifetime: { ttlSeconds: 3600, idleSeconds: 100 } });
    const { token } = (await tokensFor(app, ['user18'])).get('user18')!;
    await age(token, 200, 5);
    expect((await gql(app, ME, {}, token)).data?.me?.username).toBe('user18');
    expect(await lastUsedAgoSeconds(token)).toBeGreaterThanOrEqual(4);
    await age(token, 200, 15);
    expect((await gql(app, ME, {}, token)).data?.me?.username).toBe('user18');
    expect(await lastUsedAgoSeconds(token)).toBeLessThan(3);
  });

  it("deletes a user's expired tokens when they log in (the table does not grow)", async () => {
    const app = testApp(database);
    const t = (await tokensFor(app, ['user16'])).get('user16')!;
    await age(t.token, 31 * DAY);
    const count = async () =>
      Number(
        rowsOf<{ n: number }>(
          await database.db.execute(
            sql`select count(*)::int as n from api_tokens where token_hash = ${hashToken(t.token)}`,
          ),
        )[0]!.n,
      );
    expect(await count()).toBe(1);
    await login(app, 'user16');
    expect(await count()).toBe(0);
  });
});

describe('the lean hit’s token cache and expiry', () => {
  let c: CachedApp;
  beforeAll(async () => {
    c = await cachedApp(database, { backend: 'memory', cacheDebug: false });
  });

  const post = (token: string) =>
    c.front.fetch('http://kitvault.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: ME }),
    });

  it('never vouches for a token past its expiry: its entry lives no longer than the token', async () => {
    const { token } = (await tokensFor(c.app, ['user17'])).get('user17')!;
    // 1.5 s of lifetime left (30 days minus 1.5 s old).
    await age(token, 30 * DAY - 1.5, 0);
    const miss = await post(token);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    await c.caches.settled();
    const hit = await post(token);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    await new Promise((r) => setTimeout(r, 1600));
    const after = await post(token);
    expect(after.headers.get('x-cache')).not.toBe('HIT');
    const body = (await after.json()) as { errors?: { extensions: { code: string } }[] };
    expect(body.errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });
});

describe('TokenCache', () => {
  it('caps an entry by the token’s remaining lifetime, counted from when the lookup began', async () => {
    const cache = new TokenCache({ ttlMs: 10_000 });
    const began = cache.now();
    expect(cache.remember('a'.repeat(64), 1, began, 50)).toBe(true);
    expect(cache.userOf('a'.repeat(64))).toBe(1);
    await new Promise((r) => setTimeout(r, 80));
    expect(cache.userOf('a'.repeat(64))).toBeUndefined();
    // No lifetime left: not remembered at all.
    expect(cache.remember('b'.repeat(64), 2, cache.now(), 0)).toBe(false);
  });

  it('refuses to remember a token revoked after its lookup began, and lookups too old to tell', () => {
    const cache = new TokenCache({ tombstoneMs: 60_000 });
    const hash = 'c'.repeat(64);
    const began = cache.now();
    cache.forget(hash);
    expect(cache.remember(hash, 3, began, 100_000)).toBe(false);
    expect(cache.userOf(hash)).toBeUndefined();
    expect(cache.remember('d'.repeat(64), 4, cache.now() - 60_001, 1e9)).toBe(false);
  });

  it('keeps entries 1 s only, and empties itself, while revocations from other instances may not arrive', () => {
    const cache = new TokenCache({ ttlMs: 10_000, degradedTtlMs: 1_000 });
    const hash = 'e'.repeat(64);
    cache.remember(hash, 5, cache.now(), 1e9);
    cache.subscribed(false);
    expect(cache.userOf(hash)).toBeUndefined();
    expect(cache.isDegraded).toBe(true);
    cache.remember(hash, 5, cache.now(), 1e9);
    expect(cache.userOf(hash)).toBe(5);
    cache.subscribed(true);
    expect(cache.userOf(hash)).toBeUndefined();
    expect(cache.isDegraded).toBe(false);
  });
});
