/**
 * Secrets never reach a cache. After a representative session against an app with both cache
 * levels on Redis (logins, `me` with its collection, catalogue queries, collection and catalogue
 * writes, a logout), every key under the app's prefix is read back by type, and no key or value may
 * hold a password hash, a password, an issued bearer token or a token's hash; no cached response
 * body may name `passwordHash`.
 */
import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/auth/passwords.js';
import { hashToken } from '../../src/auth/tokens.js';
import type { Database } from '../../src/db/client.js';
import { users } from '../../src/db/schema.js';
import {
  cachedApp,
  dropPrefix,
  keysUnder,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
  type CachedApp,
} from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

type Answer = { data?: Record<string, any> | null; errors?: unknown[] };

/** Every value a key holds, as raw bytes, read by the key's type. */
async function valuesOf(redis: RedisClient, key: string): Promise<Buffer[]> {
  const type = await redis.type(key);
  switch (type) {
    case 'string':
      return [(await redis.getBuffer(key)) ?? Buffer.alloc(0)];
    case 'zset':
      return redis.zrangeBuffer(key, 0, -1);
    case 'hash':
      return Object.entries(await redis.hgetallBuffer(key)).flatMap(([field, value]) => [Buffer.from(field), value]);
    case 'set':
      return redis.smembersBuffer(key);
    case 'list':
      return redis.lrangeBuffer(key, 0, -1);
    case 'none':
      return []; // expired between the scan and the read
    default:
      throw new Error(`key ${key} has type ${type}, which this test does not read yet`);
  }
}

const skip = redisAvailable() ? false : redisSkipReason();

describe('no secret reaches a cache (both levels on Redis)', () => {
  let database: Database;
  let redis: RedisClient;
  let prefix: string;
  let server: CachedApp;
  /** Each user's own password, unique to this run, so finding it anywhere means it was stored. */
  const passwords = {
    admin: `pw-admin-${randomBytes(9).toString('base64url')}`,
    user1: `pw-user1-${randomBytes(9).toString('base64url')}`,
  };
  const storedHashes: string[] = [];
  const tokens: string[] = [];

  const ask = async (query: string, variables: Record<string, unknown> = {}, token?: string): Promise<Answer> => {
    const response = await server.front.fetch('http://kitvault.test/graphql', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json, application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    const answer = (await response.json()) as Answer;
    expect(answer.errors, `${query}: ${JSON.stringify(answer.errors)}`).toBeUndefined();
    await server.caches.settled();
    return answer;
  };

  beforeAll(async () => {
    if (skip) return;
    database = await openTestDatabase();
    for (const [username, password] of Object.entries(passwords)) {
      const passwordHash = await hashPassword(password);
      storedHashes.push(passwordHash);
      await database.db.update(users).set({ passwordHash }).where(eq(users.username, username));
    }
    redis = testRedis();
    prefix = newPrefix();
    server = await cachedApp(database, { backend: 'redis', redis, prefix, entityCache: true });
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
    await server?.caches.close();
    await database?.close();
  });

  it.skipIf(skip)(
    `leaves no password hash, password, token or token hash in Redis${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const login = async (username: keyof typeof passwords) => {
        const { data } = await ask(
          'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { id username role } } }',
          { u: username, p: passwords[username] },
        );
        tokens.push(data!.login.token);
        return data!.login.token as string;
      };
      const user = await login('user1');
      const admin = await login('admin');

      const ME = `{ me { id username role collection(first: 50) {
        totalCount edges { cursor node { id condition note addedAt kit { id name club { id name } season { label } } } } } } }`;
      const CATALOGUE = [
        '{ kits(first: 10) { totalCount edges { node { id name type club { name } brand { name } competitions { name } } } } }',
        '{ club(id: 1) { name kits(first: 5) { edges { node { id name } } } seasons { label } } }',
        '{ clubs(first: 5, search: "a") { edges { node { id name } } } }',
        '{ brands { id name kits(first: 3) { totalCount } } competitions { id name } seasons { id label } }',
        '{ search(text: "ar", first: 5) { __typename ... on Kit { id name } ... on Club { id name } } }',
        '{ kit(id: 3) { id name season { label kits(first: 2) { totalCount } } } }',
      ];
      // Twice each: a miss that fills both levels, then a hit (the lean one for public queries).
      for (let round = 0; round < 2; round++) {
        for (const token of [undefined, user, admin]) {
          await ask(ME, {}, token);
          for (const query of CATALOGUE) await ask(query, {}, token);
        }
      }

      const kit = await ask('{ kits(first: 1, type: AWAY) { edges { node { id } } } }');
      const kitId = kit.data!.kits.edges[0].node.id as string;
      const added = await ask(
        'mutation($i: AddToCollectionInput!) { addToCollection(input: $i) { id kit { id name } } }',
        { i: { kitId, condition: 'MINT', note: 'signed' } },
        user,
      );
      const itemId = added.data!.addToCollection.id as string;
      await ask(ME, {}, user);
      await ask(
        'mutation($i: UpdateCollectionItemInput!) { updateCollectionItem(input: $i) { id note } }',
        { i: { id: itemId, note: 'unsigned' } },
        user,
      );
      await ask(ME, {}, user);
      await ask('mutation($id: ID!) { removeFromCollection(id: $id) }', { id: itemId }, user);
      await ask(ME, {}, user);
      await ask(
        'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id name } }',
        { i: { id: kitId, name: 'Renamed' } },
        admin,
      );
      await ask(ME, {}, admin);
      for (const query of CATALOGUE) await ask(query, {}, admin);
      await ask('mutation { logout }', {}, user);

      const secrets = [
        'scrypt$',
        'passwordHash',
        'password_hash',
        ...storedHashes,
        ...Object.values(passwords),
        ...tokens,
        ...tokens.map(hashToken),
      ];
      const keys = await keysUnder(redis, prefix);
      const entityValues = keys.filter((k) => k.startsWith(`${prefix}{e:`) && !k.endsWith(':l'));
      const responseEntries = keys.filter((k) => k.includes('}:r:'));
      // The session really filled both levels, including the signed-in users' own rows.
      expect(entityValues.some((k) => k.includes(':User:'))).toBe(true);
      expect(entityValues.some((k) => k.includes(':Kit:'))).toBe(true);
      expect(responseEntries.length).toBeGreaterThan(5);

      const leaks: string[] = [];
      for (const key of keys) {
        for (const secret of secrets) if (key.includes(secret)) leaks.push(`key ${key} names ${secret}`);
        for (const value of await valuesOf(redis, key)) {
          const bytes = value.toString('latin1');
          for (const secret of secrets) if (bytes.includes(secret)) leaks.push(`${key} holds ${secret}`);
        }
      }
      expect(leaks).toEqual([]);
      // Said on its own for the response cache: no cached body names the field.
      for (const key of responseEntries)
        expect((await redis.getBuffer(key))?.toString('utf8')).not.toContain('passwordHash');
    },
  );
});
