/**
 * Apollo Client 4 (InMemoryCache, a normalising cache) against the real server over HTTP: records
 * are normalised by `__typename` + `id` (connections, edges and PageInfo are embedded, Apollo's
 * default for objects without an id), `Query.kits` pages with `relayStylePagination` keyed by its
 * filters, a mutation updates the record and a `network-only` re-query gets fresh data, queries go
 * as POST (Apollo's default) or GET (`useGETForQueries`), and an identical repeat is answered by the
 * server's lean hit.
 */
import { ApolloClient, HttpLink, InMemoryCache, gql, type TypedDocumentNode } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Query } from '../../src/resolvers/query.js';
import { redisAvailable } from '../helpers/caches.js';
import { startServer, type TestServer } from './server.js';

/** Executions of `Query.kit` (the server's resolver, in this process). */
const kitResolver = vi.spyOn(Query, 'kit');

/** The filters of `Query.kits` select the list; `first` and `after` only page through it. */
const KITS_KEY_ARGS = ['clubId', 'seasonId', 'brandId', 'type'];

function newClient(url: string, options: { token?: string; get?: boolean; clientLibrary?: false } = {}): ApolloClient {
  return new ApolloClient({
    link: new HttpLink({
      uri: url,
      useGETForQueries: options.get ?? false,
      headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
    }),
    cache: new InMemoryCache({
      typePolicies: { Query: { fields: { kits: relayStylePagination(KITS_KEY_ARGS) } } },
    }),
    // Apollo Client 4 sends `extensions.clientLibrary` with every request unless told not to.
    ...(options.clientLibrary === false ? { enhancedClientAwareness: { transport: false } } : {}),
  });
}

type Kit = { __typename: 'Kit'; id: string; name: string };
type KitsData = {
  kits: {
    __typename: 'KitConnection';
    totalCount: number;
    edges: { __typename: 'KitEdge'; cursor: string; node: Kit & { club: { __typename: 'Club'; id: string } } }[];
    pageInfo: { __typename: 'PageInfo'; hasNextPage: boolean; endCursor: string | null };
  };
};

const KIT: TypedDocumentNode<{ kit: Kit | null }, { id: string }> = gql`
  query Kit($id: ID!) {
    kit(id: $id) {
      id
      name
    }
  }
`;

const KITS: TypedDocumentNode<KitsData, { first: number; after?: string | null; clubId?: string }> = gql`
  query Kits($first: Int!, $after: String, $clubId: ID) {
    kits(first: $first, after: $after, clubId: $clubId) {
      totalCount
      edges {
        cursor
        node {
          id
          name
          club {
            id
          }
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`;

const UPDATE_KIT: TypedDocumentNode<{ updateKit: Kit }, { id: string; name: string }> = gql`
  mutation Rename($id: ID!, $name: String!) {
    updateKit(input: { id: $id, name: $name }) {
      id
      name
    }
  }
`;

const LOGIN: TypedDocumentNode<{ login: { token: string } }, { username: string; password: string }> = gql`
  mutation Login($username: String!, $password: String!) {
    login(username: $username, password: $password) {
      token
    }
  }
`;

const nameIn = (data: KitsData | undefined, id: string) => data?.kits.edges.find((e) => e.node.id === id)?.node.name;

// Needs the run's Redis (always there in CI, where an absent service fails the run).
describe.skipIf(!redisAvailable())('Apollo Client 4 against the real server', () => {
  let server: TestServer;
  let adminToken = '';

  beforeAll(async () => {
    server = await startServer();
    const { data } = await newClient(server.url).mutate({
      mutation: LOGIN,
      variables: { username: 'admin', password: 'kitvault' },
    });
    adminToken = data!.login.token;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('one Kit is one record: data fetched through one query is seen through the other', async () => {
    const client = newClient(server.url);
    const page = await client.query({ query: KITS, variables: { first: 5 } });
    const before = nameIn(page.data, '4')!;
    expect(before).toBeDefined();

    const renamed = `${before} (renamed elsewhere)`;
    await newClient(server.url, { token: adminToken }).mutate({
      mutation: UPDATE_KIT,
      variables: { id: '4', name: renamed },
    });

    server.reset();
    const byId = await client.query({ query: KIT, variables: { id: '4' }, fetchPolicy: 'network-only' });
    expect(byId.data!.kit!.name).toBe(renamed);
    // The list, read from the cache alone, shows the name the by-id query brought: one Kit:4 record.
    const list = client.readQuery({ query: KITS, variables: { first: 5 } });
    expect(nameIn(list ?? undefined, '4')).toBe(renamed);
    expect(client.cache.identify({ __typename: 'Kit', id: '4' })).toBe('Kit:4');
    expect(client.cache.extract()).toHaveProperty(['Kit:4', 'name'], renamed);
    expect(server.exchanges.map((e) => e.method)).toEqual(['POST']);
  });

  it('fetchMore pages through kits with relayStylePagination; filtered lists are kept apart (keyArgs)', async () => {
    const client = newClient(server.url);
    const watched = client.watchQuery({ query: KITS, variables: { first: 7 } });
    const results: KitsData[] = [];
    const subscription = watched.subscribe(({ data, dataState }) => {
      if (dataState === 'complete') results.push(data);
    });
    try {
      // The watched query emits the merged list after each page (its first emission: page 1).
      const latest = async (edges: number) => {
        await vi.waitFor(() => expect(results.at(-1)?.kits.edges.length).toBe(edges), { timeout: 10_000 });
        return results.at(-1)!.kits;
      };
      for (let page = 1; page < 3; page++) {
        const current = await latest(7 * page);
        expect(current.pageInfo.hasNextPage).toBe(true);
        await watched.fetchMore({ variables: { after: current.pageInfo.endCursor } });
      }
      const merged = await latest(21);
      const ids = merged.edges.map((e) => Number(e.node.id));
      // Three pages merged into one list: 21 distinct kits in id order, each page after the last.
      expect(ids).toHaveLength(21);
      expect(new Set(ids).size).toBe(21);
      expect(ids).toEqual([...ids].sort((a, b) => a - b));
      expect(merged.pageInfo.endCursor).toBe(merged.edges.at(-1)!.cursor);
    } finally {
      subscription.unsubscribe();
    }

    // A club's kits are another list: it does not merge into (or replace) the unfiltered one.
    const club = await client.query({ query: KITS, variables: { first: 3, clubId: '2' } });
    expect(club.data!.kits.edges.every((e) => e.node.club.id === '2')).toBe(true);
    const stored = client.readQuery({ query: KITS, variables: { first: 7 } });
    expect(stored!.kits.edges).toHaveLength(21);
    // Stored under the filter (keyArgs), not under `first` or `after`.
    const extracted = client.cache.extract();
    expect(extracted).toHaveProperty(['ROOT_QUERY', 'kits:{}', 'edges'], expect.any(Array));
    expect(extracted).toHaveProperty(['ROOT_QUERY', 'kits:{"clubId":"2"}', 'edges'], expect.any(Array));
  });

  it("a mutation updates the normalised record; network-only then returns the server's fresh data", async () => {
    const client = newClient(server.url, { token: adminToken });
    const kit = await client.query({ query: KIT, variables: { id: '6' } });
    const page = await client.query({ query: KITS, variables: { first: 10 } });
    expect(nameIn(page.data, '6')).toBe(kit.data!.kit!.name);
    await server.c.caches.settled();
    // The server's response cache now holds both answers, so "fresh" below means invalidated.
    await newClient(server.url).query({ query: KIT, variables: { id: '6' } });
    const name = `${kit.data!.kit!.name} (mutated)`;

    server.reset();
    await client.mutate({ mutation: UPDATE_KIT, variables: { id: '6', name } });
    // Apollo wrote the mutation's Kit into Kit:6: both queries read the new name from the cache.
    expect(client.readQuery({ query: KIT, variables: { id: '6' } })!.kit!.name).toBe(name);
    expect(nameIn(client.readQuery({ query: KITS, variables: { first: 10 } }) ?? undefined, '6')).toBe(name);

    const fresh = await client.query({ query: KIT, variables: { id: '6' }, fetchPolicy: 'network-only' });
    expect(fresh.data!.kit!.name).toBe(name);
    const freshPage = await client.query({ query: KITS, variables: { first: 10 }, fetchPolicy: 'network-only' });
    expect(nameIn(freshPage.data, '6')).toBe(name);
    expect(server.exchanges.map((e) => [e.method, e.status, e.xCache])).toEqual([
      ['POST', 200, undefined],
      ['POST', 200, 'MISS'],
      ['POST', 200, 'MISS'],
    ]);
  });

  it('useGETForQueries: queries go as GET, mutations stay POST, and a repeat is a HIT with one execution', async () => {
    const client = newClient(server.url, { get: true, token: adminToken });
    server.reset();
    const runs = kitResolver.mock.calls.length;
    const first = await client.query({ query: KIT, variables: { id: '7' } });
    await server.c.caches.settled();
    const second = await newClient(server.url, { get: true }).query({ query: KIT, variables: { id: '7' } });
    expect(second.data).toEqual(first.data);
    await client.mutate({ mutation: UPDATE_KIT, variables: { id: '7', name: `${first.data!.kit!.name}!` } });
    const fresh = await client.query({ query: KIT, variables: { id: '7' }, fetchPolicy: 'network-only' });
    expect(fresh.data!.kit!.name).toBe(`${first.data!.kit!.name}!`);
    expect(server.exchanges.map((e) => [e.method, e.status, e.xCache])).toEqual([
      ['GET', 200, 'MISS'],
      ['GET', 200, 'HIT'],
      ['POST', 200, undefined],
      ['GET', 200, 'MISS'],
    ]);
    expect(kitResolver.mock.calls.length - runs).toBe(2);
  });

  // Fails until the lean hit accepts requests with `extensions` (Apollo Client 4 always sends
  // `extensions.clientLibrary`): the repeat is then answered by yoga's plugin path (HIT, no
  // execution), not by the lean hit. The test below, without that extension, shows the rest works.
  it.each([
    ['POST', false],
    ['GET', true],
  ] as const)('a repeated network-only query (%s) is answered by the lean hit', async (_method, get) => {
    await repeatIsLeanHit(newClient(server.url, { get }), get ? '10' : '8');
  });

  it.each([
    ['POST', false],
    ['GET', true],
  ] as const)('without extensions.clientLibrary, a repeated query (%s) is a lean hit', async (_method, get) => {
    await repeatIsLeanHit(newClient(server.url, { get, clientLibrary: false }), get ? '11' : '9');
  });

  async function repeatIsLeanHit(client: ApolloClient, id: string): Promise<void> {
    server.reset();
    const runs = kitResolver.mock.calls.length;
    const variables = { id };
    const first = await client.query({ query: KIT, variables, fetchPolicy: 'network-only' });
    await server.c.caches.settled();
    const second = await client.query({ query: KIT, variables, fetchPolicy: 'network-only' });
    expect(second.data).toEqual(first.data);
    expect(kitResolver.mock.calls.length - runs).toBe(1);
    expect(server.exchanges.map((e) => e.xCache)).toEqual(['MISS', 'HIT']);
    // The lean hit answers before yoga: only the first request reached it.
    expect(server.reachedYoga()).toBe(1);
  }
});
