/**
 * Apollo Client 4 with its PersistedQueryLink, in Node, against the front door on node:http
 * (loopback): the first query sends the hash alone, gets PersistedQueryNotFound, and resends it
 * with the query (which registers it); the second sends the hash alone (with Apollo's
 * `extensions.clientLibrary`) and is answered by the lean hit: no execution, yoga not involved.
 * With and without `useGETForHashedQueries`, and with Apollo's default Accept
 * (graphql-response+json: a 400) and a plain application/json one (a 200).
 */
import { ApolloClient, ApolloLink, gql, HttpLink, InMemoryCache } from '@apollo/client';
import { PersistedQueryLink } from '@apollo/client/link/persisted-queries';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { sha256, yogaRequests } from '../persisted/requests.js';

// Spied before any app builds the schema, so it counts real executions.
const kitResolver = vi.spyOn(Query, 'kit');

const skip = redisAvailable() ? false : redisSkipReason();

/** What went over the wire, as the client sent it and the server answered. */
type Exchange = {
  method: string;
  query: boolean;
  hash: string | undefined;
  clientLibrary: boolean;
  status: number;
  cache: string | null;
};

let database: Database;
let redis: RedisClient;
let prefix: string;
let c: CachedApp;
let server: Server;
let uri = '';
const yoga = yogaRequests();

beforeAll(async () => {
  if (skip) return;
  database = await openTestDatabase();
  redis = testRedis();
  prefix = newPrefix();
  c = await cachedApp(database, {
    backend: 'redis',
    redis,
    prefix,
    cacheDebug: false,
    app: { plugins: [yoga.plugin] },
  });
  server = createServer(c.front.listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});
afterAll(async () => {
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  if (redis) {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
  await database?.close();
});

/** A client whose fetch records each exchange. */
function client(options: { useGET: boolean; accept?: string }) {
  const exchanges: Exchange[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const sent: { query?: string; extensions?: { persistedQuery?: { sha256Hash?: string }; clientLibrary?: unknown } } =
      method === 'GET'
        ? {
            ...(url.searchParams.get('query') ? { query: url.searchParams.get('query')! } : {}),
            extensions: JSON.parse(url.searchParams.get('extensions') ?? '{}'),
          }
        : JSON.parse(String(init?.body));
    const response = await fetch(input, { ...init, signal: AbortSignal.timeout(10_000) });
    exchanges.push({
      method,
      query: typeof sent.query === 'string',
      hash: sent.extensions?.persistedQuery?.sha256Hash,
      clientLibrary: sent.extensions?.clientLibrary !== undefined,
      status: response.status,
      cache: response.headers.get('x-cache'),
    });
    return response;
  };
  const link = ApolloLink.from([
    new PersistedQueryLink({ sha256, useGETForHashedQueries: options.useGET }),
    new HttpLink({
      uri,
      fetch: recordingFetch,
      ...(options.accept ? { headers: { accept: options.accept } } : {}),
    }),
  ]);
  return { apollo: new ApolloClient({ link, cache: new InMemoryCache() }), exchanges };
}

const cases = [
  { useGET: false, accept: undefined, notFound: 400 },
  { useGET: true, accept: undefined, notFound: 400 },
  { useGET: false, accept: 'application/json', notFound: 200 },
  { useGET: true, accept: 'application/json', notFound: 200 },
] as const;

describe.each(cases)(
  'Apollo Client 4, useGETForHashedQueries: $useGET, accept: $accept',
  ({ useGET, accept, notFound }) => {
    it.skipIf(skip)(
      `registers on the first query, then is answered by the lean hit from the hash alone${skip ? ` (skipped: ${skip})` : ''}`,
      async () => {
        const { apollo, exchanges } = client({ useGET, ...(accept ? { accept } : {}) });
        // One document per case, so each case registers its own hash.
        const name = `Kit${useGET ? 'Get' : 'Post'}${accept ? 'Json' : 'Default'}`;
        const KIT = gql(`query ${name}($id: ID!) { kit(id: $id) { id name club { name } } }`);
        const hashed = useGET ? 'GET' : 'POST';

        kitResolver.mockClear();
        const first = await apollo.query({ query: KIT, variables: { id: '14' }, fetchPolicy: 'network-only' });
        expect(first.error).toBeUndefined();
        expect(first.data).toMatchObject({ kit: { id: '14' } });
        expect(exchanges.map(({ method, query, status }) => ({ method, query, status }))).toEqual([
          { method: hashed, query: false, status: notFound }, // PersistedQueryNotFound
          { method: 'POST', query: true, status: 200 }, // the retry with the query, which registers it
        ]);
        const hash = exchanges[0]!.hash!;
        expect(hash).toMatch(/^[0-9a-f]{64}$/);
        expect(await redis.get(`${prefix}pq:${hash}`)).not.toBeNull();
        expect(kitResolver).toHaveBeenCalledTimes(1);
        await c.caches.settled();

        kitResolver.mockClear();
        yoga.reset();
        exchanges.length = 0;
        const second = await apollo.query({ query: KIT, variables: { id: '14' }, fetchPolicy: 'network-only' });
        expect(second.data).toEqual(first.data);
        expect(exchanges).toEqual([
          { method: hashed, query: false, hash, clientLibrary: true, status: 200, cache: 'HIT' },
        ]);
        expect(kitResolver).not.toHaveBeenCalled();
        expect(yoga.count()).toBe(0);
      },
    );
  },
);
