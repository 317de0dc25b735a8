/**
 * Scope from the schema: a public operation is one entry for everybody; a private one is one entry
 * per user, never served to anyone else, also with many users at once on two servers.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/db/client.js';
import { Query } from '../../../src/resolvers/query.js';
import { User } from '../../../src/resolvers/user-types.js';
import { gql, tokensFor } from '../../helpers/app.js';
import {
  backends,
  cachedApp,
  dropPrefix,
  keysUnder,
  newPrefix,
  testRedis,
  type CachedApp,
} from '../../helpers/caches.js';
import { openTestDatabase } from '../../helpers/database.js';

// Spies go in before any app builds the schema, so they count real resolver executions.
const kitsResolver = vi.spyOn(Query, 'kits');
const collectionResolver = vi.spyOn(User, 'collection');

const PUBLIC = '{ kits(first: 5) { edges { node { id name club { name } } } } }';
const PRIVATE =
  '{ me { id username collection(first: 100) { totalCount edges { node { id note kit { id name } } } } } }';
const USERS = Array.from({ length: 50 }, (_, i) => `user${i + 1}`);

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

describe.each(backends())('response cache scope on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  let prefix = '';
  let a: CachedApp;
  let b: CachedApp;
  let tokens: Map<string, { token: string; userId: number }>;

  beforeAll(async () => {
    if (skip) return;
    prefix = newPrefix();
    if (backend === 'redis') redis = testRedis();
    a = await cachedApp(database, { backend, redis, prefix });
    // A second server sharing the same Redis (in memory, each server has its own store).
    b = backend === 'redis' ? await cachedApp(database, { backend, redis, prefix }) : a;
    tokens = await tokensFor(a.app, USERS);
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  const entryKeys = async () =>
    redis ? (await keysUnder(redis, prefix)).filter((k) => k.includes('}:r:')).length : null;

  it.skipIf(skip)(
    `serves a public query to 50 signed-in users and anonymous from one execution and one entry${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      kitsResolver.mockClear();
      const writesBefore = a.caches.counters.get('response_write');
      const first = await gql(a.app, PUBLIC);
      expect(first.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, scope: 'PUBLIC' });
      await a.caches.settled();
      for (const [i, name] of USERS.entries()) {
        const app = i % 2 ? b.app : a.app;
        const r = await gql(app, PUBLIC, {}, tokens.get(name)!.token);
        expect(r.extensions?.responseCache).toMatchObject({ hit: true, scope: 'PUBLIC' });
        expect(r.data).toEqual(first.data);
      }
      expect(kitsResolver).toHaveBeenCalledTimes(1);
      expect(a.caches.counters.get('response_write') - writesBefore).toBe(1);
      if (redis) expect(await entryKeys()).toBe(1);
    },
  );

  it.skipIf(skip)(
    'keeps a private query per user: 50 users, 50 entries, each sees exactly their own collection',
    async () => {
      collectionResolver.mockClear();
      const before = await entryKeys();
      for (const name of USERS) {
        const { token, userId } = tokens.get(name)!;
        const r = await gql(a.app, PRIVATE, {}, token);
        expect(r.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, scope: 'PRIVATE' });
        expect(r.data?.me.id).toBe(String(userId));
      }
      await a.caches.settled();
      expect(collectionResolver).toHaveBeenCalledTimes(50);
      if (redis) expect((await entryKeys())! - before!).toBe(50);

      // Again, all at once, half on each server: every answer is a hit and is the asker's own.
      const answers = await Promise.all(
        USERS.map((name, i) => gql(i % 2 ? b.app : a.app, PRIVATE, {}, tokens.get(name)!.token)),
      );
      expect(collectionResolver).toHaveBeenCalledTimes(50);
      for (const [i, name] of USERS.entries()) {
        const { userId } = tokens.get(name)!;
        const r = answers[i]!;
        expect(r.extensions?.responseCache).toMatchObject({ hit: true, scope: 'PRIVATE' });
        expect(r.data?.me.username).toBe(name);
        const truth = (await a.app.repos.users.collectionItemIdsByUsers([userId])).map((row) => String(row.id));
        const shown = r.data?.me.collection.edges.map((e: { node: { id: string } }) => e.node.id);
        expect(shown).toEqual(truth);
        expect(r.data?.me.collection.totalCount).toBe(truth.length);
      }
    },
  );

  it.skipIf(skip)('never mixes users when 200 concurrent private requests hit two servers cold', async () => {
    const query = '{ me { username collection(first: 3) { edges { node { id } } } } }';
    const names = USERS.slice(0, 40);
    const requests = Array.from({ length: 200 }, (_, i) => names[i % names.length]!);
    const answers = await Promise.all(
      requests.map((name, i) => gql(i % 2 ? b.app : a.app, query, {}, tokens.get(name)!.token)),
    );
    answers.forEach((r, i) => expect(r.data?.me.username).toBe(requests[i]));
  });

  it.skipIf(skip)('caches a private query for anonymous callers apart from every user', async () => {
    const anon = await gql(a.app, '{ me { id } }');
    await a.caches.settled();
    const again = await gql(a.app, '{ me { id } }');
    expect(anon.data?.me).toBeNull();
    expect(again.extensions?.responseCache).toMatchObject({ hit: true, scope: 'PRIVATE' });
    const signedIn = await gql(a.app, '{ me { id } }', {}, tokens.get('user1')!.token);
    expect(signedIn.data?.me.id).toBe(String(tokens.get('user1')!.userId));
  });

  it.skipIf(skip)('does not cache a private query whose token is invalid, and says UNAUTHENTICATED', async () => {
    const r = await gql(a.app, PRIVATE, {}, 'kv_not-a-real-token-at-all');
    expect(r.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(r.extensions?.responseCache).toBeUndefined();
  });

  it.skipIf(skip)('does not cache results with errors, nor mutations', async () => {
    const bad = await gql(a.app, '{ kit(id: "nope") { id } }');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(bad.extensions?.responseCache).toMatchObject({ didCache: false });
    const m = await gql(a.app, 'mutation { logout }', {}, (await tokensFor(a.app, ['user60'])).get('user60')!.token);
    expect(m.data?.logout).toBe(true);
    expect(m.extensions?.responseCache).toBeUndefined();
  });

  it.skipIf(skip)('caches introspection', async () => {
    const q = '{ __schema { queryType { name } } }';
    await gql(a.app, q);
    await a.caches.settled();
    const r = await gql(a.app, q);
    expect(r.extensions?.responseCache).toMatchObject({ hit: true, scope: 'PUBLIC' });
  });
});
