/**
 * Top-level lists in the entity cache: the pages and counts of `kits(…)` and `clubs(…)`, and the
 * short lists of seasons, brands and competitions, are cached as groups under the list's name. Warm,
 * they cost no SQL; a write voids exactly the lists whose membership or order it changes, on every
 * server; and a page read before a write is never stored after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/client.js';
import { countSql, data, testApp } from '../../helpers/app.js';
import { backends, entityServers } from '../../helpers/caches.js';
import { openTestDatabase } from '../../helpers/database.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const LISTS = /* GraphQL */ `
  {
    kits(first: 20) {
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
    away: kits(type: AWAY, seasonId: 2, first: 5) {
      totalCount
      edges {
        node {
          id
        }
      }
    }
    clubs(first: 10) {
      totalCount
      edges {
        node {
          id
          name
        }
      }
      pageInfo {
        hasNextPage
      }
    }
    named: clubs(search: "a", first: 5) {
      edges {
        node {
          id
        }
      }
    }
    seasons {
      id
      label
    }
    brands {
      id
      name
    }
    competitions {
      id
      name
    }
  }
`;

const ids = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((e) => e.node.id);

describe.each(backends())('list pages in the entity cache on $backend', ({ backend, skip }) => {
  const servers = entityServers(() => database, backend, skip);
  const mutate = (query: string) => data(servers.two.app, query, {}, servers.admin);

  it.skipIf(skip)(
    `serves every top-level list and its next page warm with no SQL, as the database has them${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const cold = await countSql(database, () => data(servers.one.app, LISTS));
      expect(cold.statements.length).toBeGreaterThan(0);
      const warm = await countSql(database, () => data(servers.one.app, LISTS));
      expect(warm.statements).toEqual([]);
      expect(warm.result).toEqual(cold.result);
      expect(warm.result).toEqual(await data(testApp(database), LISTS));

      const next = `{ kits(first: 20, after: "${warm.result.kits.pageInfo.endCursor}") { edges { node { id } } } }`;
      const coldNext = await countSql(database, () => data(servers.one.app, next));
      const warmNext = await countSql(database, () => data(servers.one.app, next));
      expect(warmNext.statements).toEqual([]);
      expect(warmNext.result).toEqual(coldNext.result);
      expect(Number(ids(warmNext.result.kits)[0])).toBeGreaterThan(Number(ids(warm.result.kits).at(-1)));
    },
  );

  it.skipIf(skip)('voids exactly the lists a write changes, on every server', async () => {
    const country = `Atlantis ${servers.prefix}`;
    const club = (
      await mutate(
        `mutation { createClub(input: { name: "Lists FC ${servers.prefix}", country: "${country}" }) { id } }`,
      )
    ).createClub.id as string;
    const mine = `{ kits(clubId: ${club}, first: 5) { totalCount edges { node { id name } } } }`;
    const all = '{ kits(first: 1) { totalCount } }';
    const theirs = '{ kits(clubId: 3, first: 5) { totalCount edges { node { id } } } }';
    const clubsThere = `{ clubs(country: "${country.toUpperCase()}") { totalCount edges { node { name } } } }`;
    const sqlFor = async (query: string) =>
      (await countSql(database, () => data(servers.one.app, query))).statements.length;
    for (const q of [mine, all, theirs, clubsThere]) await data(servers.one.app, q);
    for (const q of [mine, all, theirs, clubsThere]) expect(await sqlFor(q), q).toBe(0);
    const total = (await data(servers.one.app, all)).kits.totalCount as number;

    // A new kit joins its club's list and the list of all kits; another club's list stays cached.
    const kit = (
      await mutate(
        `mutation { createKit(input: { clubId: ${club}, seasonId: 2, brandId: 1, type: HOME, name: "Lists home", primaryColour: "red" }) { id } }`,
      )
    ).createKit.id as string;
    expect((await data(servers.one.app, mine)).kits).toEqual({
      totalCount: 1,
      edges: [{ node: { id: kit, name: 'Lists home' } }],
    });
    expect((await data(servers.one.app, all)).kits.totalCount).toBe(total + 1);
    expect(await sqlFor(theirs)).toBe(0);

    // A rename changes no membership: the page stays cached, only the kit's row is read again.
    await mutate(`mutation { updateKit(input: { id: ${kit}, name: "Lists renamed" }) { id } }`);
    const renamed = await countSql(database, () => data(servers.one.app, mine));
    expect(renamed.result.kits.edges[0].node.name).toBe('Lists renamed');
    expect(renamed.statements).toHaveLength(1);
    expect(renamed.statements[0]).toMatch(/from "kits"/);

    // A club's rename reorders the club lists it is in.
    expect((await data(servers.one.app, clubsThere)).clubs.edges).toEqual([
      { node: { name: `Lists FC ${servers.prefix}` } },
    ]);
    await mutate(`mutation { updateClub(input: { id: ${club}, name: "Lists United ${servers.prefix}" }) { id } }`);
    expect((await data(servers.one.app, clubsThere)).clubs).toEqual({
      totalCount: 1,
      edges: [{ node: { name: `Lists United ${servers.prefix}` } }],
    });

    // Deleted, the kit leaves both lists.
    await mutate(`mutation { deleteKit(id: ${kit}) }`);
    expect((await data(servers.one.app, mine)).kits).toEqual({ totalCount: 0, edges: [] });
    expect((await data(servers.one.app, all)).kits.totalCount).toBe(total);
  });

  it.skipIf(skip)('never stores a page read before a write after that write has answered', async () => {
    const club = (
      await mutate(`mutation { createClub(input: { name: "Race FC ${servers.prefix}", country: "Nowhere" }) { id } }`)
    ).createClub.id as string;
    const page = `{ kits(clubId: ${club}, first: 5) { edges { node { name } } } }`;
    const catalogue = servers.one.app.repos.catalogue;
    const listKits = catalogue.listKits;
    let reached!: () => void;
    const inHand = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // The read takes its rows (none yet), then waits while the write lands…
    catalogue.listKits = async (...args) => {
      const rows = await listKits(...args);
      reached();
      await held;
      return rows;
    };
    const refusedBefore = servers.one.caches.counters.get('entity_fill_refused', 'Kit.page');
    try {
      const early = data(servers.one.app, page);
      await inHand;
      await mutate(
        `mutation { createKit(input: { clubId: ${club}, seasonId: 2, brandId: 1, type: AWAY, name: "Race away", primaryColour: "blue" }) { id } }`,
      );
      release();
      expect((await early).kits.edges).toEqual([]);
    } finally {
      catalogue.listKits = listKits;
    }
    // …so its page (without the kit) is refused, and the next read has the kit.
    expect(servers.one.caches.counters.get('entity_fill_refused', 'Kit.page') - refusedBefore).toBe(1);
    expect((await data(servers.one.app, page)).kits.edges).toEqual([{ node: { name: 'Race away' } }]);
  });
});
