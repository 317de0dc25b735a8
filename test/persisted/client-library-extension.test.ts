/**
 * Apollo Client 4 names itself in `extensions.clientLibrary` on every request. That changes nothing
 * in the answer, so the lean hit answers such requests (one Redis command, no execution, yoga not
 * involved) and the cache key ignores it: with and without it, one entry, one execution. Any other
 * extension makes the lean hit decline (yoga answers); extensions that are not JSON are still a 400.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { Query } from '../../src/resolvers/query.js';
import {
  cachedApp,
  dropPrefix,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
  type CachedApp,
} from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { ask, codeOf, JSON_ONLY, redisCommands, yogaRequests, type Params } from './requests.js';

// Spied before any app builds the schema, so it counts real executions.
const kitResolver = vi.spyOn(Query, 'kit');

const skip = redisAvailable() ? false : redisSkipReason();
const KIT = 'query Kit($id: ID!) { kit(id: $id) { id name brand { name } } }';
const CLIENT_LIBRARY = { clientLibrary: { name: '@apollo/client', version: '4.0.0' } };

let database: Database;
let redis: RedisClient;
let prefix: string;
let c: CachedApp;
let commands: ReturnType<typeof redisCommands>;
const yoga = yogaRequests();

beforeAll(async () => {
  if (skip) return;
  database = await openTestDatabase();
  redis = testRedis();
  await redis.ping();
  prefix = newPrefix();
  c = await cachedApp(database, {
    backend: 'redis',
    redis,
    prefix,
    cacheDebug: false,
    responseL1Mb: 0, // the lean hit's one Redis read is what is counted
    app: { plugins: [yoga.plugin] },
  });
  commands = redisCommands(redis);
});
afterAll(async () => {
  commands?.restore();
  if (redis) {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
  await database?.close();
});

/** One request, with what it cost: RedisClient commands, executions, and whether yoga saw it. */
async function measured(method: 'GET' | 'POST', params: Params) {
  kitResolver.mockClear();
  yoga.reset();
  let answer: Awaited<ReturnType<typeof ask>> | undefined;
  const sent = await commands.during(c.caches, async () => (answer = await ask(c.front, method, params)));
  return { answer: answer!, commands: sent, executions: kitResolver.mock.calls.length, viaYoga: yoga.count() > 0 };
}

describe('extensions.clientLibrary', () => {
  it.skipIf(skip)(
    `is answered by the lean hit from the entry the same query made without it${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const plain = await measured('POST', { query: KIT, operationName: 'Kit', variables: { id: '11' } });
      expect(plain.answer.cache).toBe('MISS');
      expect(plain.executions).toBe(1);
      for (const method of ['POST', 'GET'] as const) {
        const r = await measured(method, {
          query: KIT,
          operationName: 'Kit',
          variables: { id: '11' },
          extensions: CLIENT_LIBRARY,
        });
        expect(r.answer.cache, method).toBe('HIT');
        expect(r.answer.body).toEqual(plain.answer.body);
        expect(r.commands, method).toEqual(['mget']);
        expect(r.executions, method).toBe(0);
        expect(r.viaYoga, method).toBe(false);
      }
    },
  );

  it.skipIf(skip)('shares one entry with the plain query the other way round too: one execution for both', async () => {
    const first = await measured('POST', { query: KIT, variables: { id: '12' }, extensions: CLIENT_LIBRARY });
    expect(first.answer.cache).toBe('MISS');
    expect(first.executions).toBe(1);
    const plain = await measured('GET', { query: KIT, variables: { id: '12' } });
    expect(plain.answer.cache).toBe('HIT');
    expect(plain.answer.body).toEqual(first.answer.body);
    expect(plain.executions).toBe(0);
  });

  it.skipIf(skip)('an unknown extension makes the lean hit decline; yoga answers it from the same entry', async () => {
    await measured('POST', { query: KIT, variables: { id: '13' } });
    for (const method of ['POST', 'GET'] as const) {
      const r = await measured(method, {
        query: KIT,
        variables: { id: '13' },
        extensions: { ...CLIENT_LIBRARY, somethingElse: { x: 1 } },
      });
      expect(r.viaYoga, method).toBe(true);
      expect(r.answer.status).toBe(200);
      expect(r.answer.body.data?.kit).toMatchObject({ id: '13' });
      expect(r.executions).toBe(0);
    }
  });

  it.skipIf(skip)('extensions that are not JSON are still refused with 400 BAD_REQUEST', async () => {
    const response = await c.front.fetch(
      `http://kitvault.test/graphql?query=${encodeURIComponent(KIT)}&variables=${encodeURIComponent('{"id":"13"}')}&extensions=clientLibrary`,
      { headers: { accept: JSON_ONLY } },
    );
    expect(response.status).toBe(400);
    expect(codeOf({ status: response.status, cache: null, body: await response.json() })).toBe('BAD_REQUEST');
  });
});
