/**
 * urql with graphcache (a normalising cache) against the real server over HTTP: queries go out as
 * GET (urql's default), records are normalised by `__typename` + `id` (connections, edges and
 * PageInfo are embedded: `keys` says so), pages follow cursors, and a mutation's result updates the
 * normalised record while a `network-only` re-query gets fresh data from the server.
 */
import { Client, fetchExchange, gql, type OperationResult } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Query } from '../../src/resolvers/query.js';
import { redisAvailable } from '../helpers/caches.js';
import { startServer, type TestServer } from './server.js';

/** Executions of `Query.kit` (the server's resolver, in this process). */
const kitResolver = vi.spyOn(Query, 'kit');

/** What Kitvault needs from graphcache: its id-less types are embedded values, not entities. */
const keys = {
  KitConnection: () => null,
  KitEdge: () => null,
  ClubConnection: () => null,
  ClubEdge: () => null,
  CollectionItemConnection: () => null,
  CollectionItemEdge: () => null,
  PageInfo: () => null,
};

function newClient(url: string, options: { token?: string } = {}): Client {
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  return new Client({
    url,
    exchanges: [cacheExchange({ keys }), fetchExchange],
    // The default since urql 4: queries as GET (cacheable by URL, and the server's cheapest path).
    preferGetMethod: 'within-url-limit',
    fetchOptions: { headers },
  });
}

const KIT = gql`
  query Kit($id: ID!) {
    kit(id: $id) {
      id
      name
      primaryColour
    }
  }
`;

const KITS = gql`
  query Kits($first: Int!, $after: String) {
    kits(first: $first, after: $after) {
      totalCount
      edges {
        cursor
        node {
          id
          name
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

const UPDATE_KIT = gql`
  mutation Rename($id: ID!, $name: String!) {
    updateKit(input: { id: $id, name: $name }) {
      id
      name
    }
  }
`;

const LOGIN = gql`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
    }
  }
`;

type KitData = { kit: { __typename: 'Kit'; id: string; name: string; primaryColour: string } | null };
type KitsData = {
  kits: {
    totalCount: number;
    edges: { cursor: string; node: { id: string; name: string } }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
};

const serverSide = (s: TestServer) => s.exchanges.map((e) => `${e.method} ${e.status}`);

// Needs the run's Redis (always there in CI, where an absent service fails the run).
describe.skipIf(!redisAvailable())('urql + graphcache against the real server', () => {
  let server: TestServer;
  let adminToken = '';

  beforeAll(async () => {
    server = await startServer();
    // Signing in is a mutation like any other: urql sends it as POST.
    const login = await newClient(server.url)
      .mutation<{ login: { token: string } }>(LOGIN, { username: 'admin', password: 'kitvault' })
      .toPromise();
    expect(login.error).toBeUndefined();
    adminToken = login.data!.login.token;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('queries go out as GET; a repeat of the same query by another client is a lean hit', async () => {
    server.reset();
    const runs = kitResolver.mock.calls.length;
    const first = await newClient(server.url).query<KitData>(KIT, { id: '3' }).toPromise();
    expect(first.data?.kit).toMatchObject({ id: '3' });
    await server.c.caches.settled();
    const second = await newClient(server.url).query<KitData>(KIT, { id: '3' }).toPromise();
    expect(second.data).toEqual(first.data);
    expect(server.exchanges.map((e) => [e.method, e.status, e.xCache])).toEqual([
      ['GET', 200, 'MISS'],
      ['GET', 200, 'HIT'],
    ]);
    // One execution; the second request never reached yoga: the lean hit answered it before any parse.
    expect(kitResolver.mock.calls.length - runs).toBe(1);
    expect(server.reachedYoga()).toBe(1);
  });

  it("urql's default accept header (JSON types, then event streams and multipart) is answered by the lean hit", async () => {
    server.reset();
    const runs = kitResolver.mock.calls.length;
    const first = await newClient(server.url).query<KitData>(KIT, { id: '2' }).toPromise();
    await server.c.caches.settled();
    const second = await newClient(server.url).query<KitData>(KIT, { id: '2' }).toPromise();
    expect(second.data).toEqual(first.data);
    expect(server.exchanges.map((e) => [e.method, e.xCache, e.contentType])).toEqual([
      ['GET', 'MISS', 'application/graphql-response+json; charset=utf-8'],
      ['GET', 'HIT', 'application/graphql-response+json; charset=utf-8'],
    ]);
    expect(kitResolver.mock.calls.length - runs).toBe(1);
    // Only the miss went through yoga: the repeat was the lean hit's, with the type yoga would pick.
    expect(server.reachedYoga()).toBe(1);
  });

  it('one Kit is one record: data fetched through one query is seen through the other', async () => {
    const client = newClient(server.url);
    const page = await client.query<KitsData>(KITS, { first: 5 }).toPromise();
    const ids = page.data!.kits.edges.map((e) => e.node.id);
    expect(ids).toContain('4');
    const before = page.data!.kits.edges.find((e) => e.node.id === '4')!.node.name;

    // The kit changes on the server (another client renames it).
    const renamed = `${before} (renamed elsewhere)`;
    const other = await newClient(server.url, { token: adminToken })
      .mutation(UPDATE_KIT, { id: '4', name: renamed })
      .toPromise();
    expect(other.error).toBeUndefined();

    // Fetching the kit by id, from the network, writes the new name into the one Kit:4 record…
    server.reset();
    const byId = await client.query<KitData>(KIT, { id: '4' }, { requestPolicy: 'network-only' }).toPromise();
    expect(byId.data!.kit!.name).toBe(renamed);
    // …so the list, read from the cache alone (no request), shows it too.
    const list = await client.query<KitsData>(KITS, { first: 5 }, { requestPolicy: 'cache-only' }).toPromise();
    expect(list.data!.kits.edges.find((e) => e.node.id === '4')!.node.name).toBe(renamed);
    expect(serverSide(server)).toEqual(['GET 200']);
  });

  it('pages through kits(first, after) with cursors', async () => {
    const client = newClient(server.url);
    const seen: string[] = [];
    let after: string | null = null;
    let total = 0;
    for (let page = 0; page < 3; page++) {
      const result: OperationResult<KitsData> = await client.query<KitsData>(KITS, { first: 7, after }).toPromise();
      expect(result.error).toBeUndefined();
      const kits: KitsData['kits'] = result.data!.kits;
      total = kits.totalCount;
      seen.push(...kits.edges.map((e) => e.node.id));
      expect(kits.pageInfo.hasNextPage).toBe(true);
      expect(kits.pageInfo.endCursor).toBe(kits.edges.at(-1)!.cursor);
      after = kits.pageInfo.endCursor;
    }
    // 21 distinct kits, in id order, continuing exactly where each page ended.
    expect(seen).toHaveLength(21);
    expect(new Set(seen).size).toBe(21);
    const numeric = seen.map(Number);
    expect(numeric).toEqual([...numeric].sort((a, b) => a - b));
    expect(total).toBeGreaterThan(21);
  });

  it("a mutation's result updates the normalised record; network-only then returns the server's fresh data", async () => {
    const client = newClient(server.url, { token: adminToken });
    const kit = await client.query<KitData>(KIT, { id: '6' }).toPromise();
    const page = await client.query<KitsData>(KITS, { first: 10 }).toPromise();
    expect(page.data!.kits.edges.map((e) => e.node.id)).toContain('6');
    // Make the server's response cache hold both answers, so "fresh" below means invalidated.
    await server.c.caches.settled();
    const warm = await newClient(server.url).query<KitData>(KIT, { id: '6' }).toPromise();
    expect(warm.data).toEqual(kit.data);
    const name = `${kit.data!.kit!.name} (mutated)`;

    server.reset();
    const mutation = await client.mutation(UPDATE_KIT, { id: '6', name }).toPromise();
    expect(mutation.error).toBeUndefined();
    expect(serverSide(server)).toEqual(['POST 200']);

    // graphcache wrote the mutation's `Kit` into Kit:6: both queries see the new name from the cache alone.
    const cachedKit = await client.query<KitData>(KIT, { id: '6' }, { requestPolicy: 'cache-only' }).toPromise();
    expect(cachedKit.data!.kit!.name).toBe(name);
    const cachedPage = await client.query<KitsData>(KITS, { first: 10 }, { requestPolicy: 'cache-only' }).toPromise();
    expect(cachedPage.data!.kits.edges.find((e) => e.node.id === '6')!.node.name).toBe(name);
    expect(serverSide(server)).toEqual(['POST 200']);

    // network-only asks the server, whose cached answers the mutation invalidated: fresh data, not the old entry.
    const fresh = await client.query<KitData>(KIT, { id: '6' }, { requestPolicy: 'network-only' }).toPromise();
    expect(fresh.data!.kit!.name).toBe(name);
    const freshPage = await client.query<KitsData>(KITS, { first: 10 }, { requestPolicy: 'network-only' }).toPromise();
    expect(freshPage.data!.kits.edges.find((e) => e.node.id === '6')!.node.name).toBe(name);
    expect(server.exchanges.slice(1).map((e) => [e.method, e.status, e.xCache])).toEqual([
      ['GET', 200, 'MISS'],
      ['GET', 200, 'MISS'],
    ]);
  });
});
