import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/client.js';
import { countSql, data, gql, testApp } from '../helpers/app.js';
import { openTestDatabase } from '../helpers/database.js';
import { TEST_SEED } from '../helpers/test-seed.js';

let database: Database;
let app: App;

beforeAll(async () => {
  database = await openTestDatabase();
  app = testApp(database);
});
afterAll(() => database?.close());

const NESTED_KITS = /* GraphQL */ `
  query Nested($first: Int) {
    kits(first: $first) {
      edges {
        node {
          id
          name
          club {
            id
            name
          }
          season {
            id
            label
          }
          brand {
            id
            name
          }
          competitions {
            id
            name
          }
        }
      }
    }
  }
`;

describe('queries by id', () => {
  it('answers each entity by id and null for an id that does not exist', async () => {
    const d = await data(
      app,
      `{ club(id: 1) { id name slug country founded } season(id: "1") { id label startYear }
         brand(id: 1) { id name } competition(id: 1) { id name country }
         kit(id: 1) { id name type primaryColour secondaryColours description createdAt updatedAt }
         missing: kit(id: 999999) { id } }`,
    );
    expect(d.club.id).toBe('1');
    expect(d.club.slug).toMatch(/^[a-z0-9-]+$/);
    expect(d.season.label).toMatch(/^\d{4}-\d{2}$/);
    expect(d.season.startYear).toBe(Number(d.season.label.slice(0, 4)));
    expect(d.brand.name).toBeTruthy();
    expect(d.competition.country).toBeTruthy();
    expect(['HOME', 'AWAY', 'THIRD', 'GOALKEEPER', 'SPECIAL']).toContain(d.kit.type);
    expect(new Date(d.kit.createdAt).toISOString()).toBe(d.kit.createdAt);
    expect(d.missing).toBeNull();
  });

  it.each(['abc', '0', '-1', '1.5', '99999999999', ''])(
    'answers BAD_USER_INPUT, not a 500, for the id %j',
    async (id) => {
      const r = await gql(app, 'query($id: ID!) { kit(id: $id) { id } }', { id });
      expect(r.status).toBe(200);
      expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(r.data?.kit).toBeNull();
    },
  );
});

describe('relations', () => {
  it('resolves every relation of a kit consistently with the lists they come from', async () => {
    const d = await data(
      app,
      `{ kit(id: 5) { id club { id kits(first: 100) { totalCount edges { node { id } } } seasons { id startYear } }
      season { id kits(first: 100) { totalCount edges { node { id } } } }
      brand { id kits(first: 100) { edges { node { id } } } }
      competitions { id kits(first: 100) { edges { node { id } } } } } }`,
    );
    const kit = d.kit;
    const ids = (c: { edges: { node: { id: string } }[] }) => c.edges.map((e) => e.node.id);
    expect(kit.club.kits.totalCount).toBeGreaterThan(0);
    expect(ids(kit.brand.kits).length).toBeGreaterThan(0);
    expect(kit.competitions.length).toBeGreaterThan(0);
    for (const c of kit.competitions) expect(c.kits.edges.length).toBeGreaterThan(0);
    // Seasons of the club are exactly the seasons of its kits, newest first.
    const years = kit.club.seasons.map((s: { startYear: number }) => s.startYear);
    expect(years).toEqual([...years].sort((a: number, b: number) => b - a));
    expect(kit.club.seasons.map((s: { id: string }) => s.id)).toContain(kit.season.id);
  });

  it('filters a club’s kits by season and agrees with the top-level kits query', async () => {
    const { club } = await data(app, '{ club(id: 2) { seasons { id } } }');
    const seasonId = club.seasons[0].id;
    const nested = await data(
      app,
      'query($s: ID) { club(id: 2) { kits(seasonId: $s, first: 100) { totalCount edges { node { id season { id } club { id } } } } } }',
      { s: seasonId },
    );
    const top = await data(
      app,
      'query($s: ID) { kits(clubId: 2, seasonId: $s, first: 100) { totalCount edges { node { id } } } }',
      { s: seasonId },
    );
    expect(nested.club.kits.totalCount).toBe(top.kits.totalCount);
    expect(nested.club.kits.edges.map((e: any) => e.node.id)).toEqual(top.kits.edges.map((e: any) => e.node.id));
    for (const e of nested.club.kits.edges) {
      expect(e.node.season.id).toBe(seasonId);
      expect(e.node.club.id).toBe('2');
    }
  });

  it('lists seasons, brands and competitions, and seasons by club', async () => {
    const d = await data(
      app,
      '{ seasons { id } brands { id name } competitions { id } byClub: seasons(clubId: 1) { id } }',
    );
    expect(d.seasons).toHaveLength(TEST_SEED.seasons);
    expect(d.brands).toHaveLength(TEST_SEED.brands);
    expect(d.competitions).toHaveLength(TEST_SEED.competitions);
    expect(d.byClub.length).toBeGreaterThan(0);
    expect(d.byClub.length).toBeLessThanOrEqual(TEST_SEED.seasons);
  });
});

describe('pagination', () => {
  it('defaults first to 20, caps it at 100, and walks every kit exactly once with cursors', async () => {
    const def = await data(app, '{ kits { edges { cursor } totalCount } }');
    expect(def.kits.edges).toHaveLength(20);
    expect(def.kits.totalCount).toBe(TEST_SEED.kits);
    const capped = await data(app, '{ kits(first: 1000) { edges { cursor } } }');
    expect(capped.kits.edges).toHaveLength(100);

    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const d: any = await data(
        app,
        'query($a: String) { kits(first: 100, after: $a) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage endCursor } } }',
        { a: after },
      );
      seen.push(...d.kits.edges.map((e: any) => e.node.id));
      expect(d.kits.pageInfo.hasPreviousPage).toBe(after !== null);
      after = d.kits.pageInfo.endCursor;
      if (!d.kits.pageInfo.hasNextPage) break;
    }
    expect(seen).toHaveLength(TEST_SEED.kits);
    expect(new Set(seen).size).toBe(TEST_SEED.kits);
  });

  it('pages a relation with cursors and reports hasNextPage at the end correctly', async () => {
    const all = await data(app, '{ club(id: 3) { kits(first: 100) { totalCount edges { node { id } } } } }');
    const total = all.club.kits.totalCount;
    const first = await data(
      app,
      '{ club(id: 3) { kits(first: 2) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }',
    );
    expect(first.club.kits.pageInfo.hasNextPage).toBe(total > 2);
    const next = await data(
      app,
      'query($a: String) { club(id: 3) { kits(first: 100, after: $a) { edges { node { id } } pageInfo { hasNextPage hasPreviousPage } } } }',
      { a: first.club.kits.pageInfo.endCursor },
    );
    expect(next.club.kits.edges.map((e: any) => e.node.id)).toEqual(
      all.club.kits.edges.slice(2).map((e: any) => e.node.id),
    );
    expect(next.club.kits.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true });
  });

  it('pages clubs by name, filtered by search and country', async () => {
    const d = await data(app, '{ clubs(first: 100) { totalCount edges { cursor node { name country } } } }');
    const names = d.clubs.edges.map((e: any) => e.node.name);
    expect(names).toEqual([...names].sort());
    expect(d.clubs.totalCount).toBe(TEST_SEED.clubs);
    const country = d.clubs.edges[0].node.country;
    const byCountry = await data(
      app,
      'query($c: String) { clubs(country: $c, first: 100) { totalCount edges { node { country } } } }',
      { c: country.toUpperCase() },
    );
    expect(byCountry.clubs.totalCount).toBeGreaterThan(0);
    for (const e of byCountry.clubs.edges) expect(e.node.country).toBe(country);
    const word = names[0].split(' ')[1].toLowerCase();
    const searched = await data(
      app,
      'query($s: String) { clubs(search: $s, first: 100) { edges { node { name } } } }',
      { s: word },
    );
    expect(searched.clubs.edges.length).toBeGreaterThan(0);
    for (const e of searched.clubs.edges) expect(e.node.name.toLowerCase()).toContain(word);
    const paged = await data(app, 'query($a: String) { clubs(first: 2, after: $a) { edges { node { name } } } }', {
      a: d.clubs.edges[1].cursor,
    });
    expect(paged.clubs.edges.map((e: any) => e.node.name)).toEqual(names.slice(2, 4));
  });

  it.each([
    ['a negative first', '{ kits(first: -1) { totalCount } }'],
    ['a cursor it did not issue', '{ kits(after: "bm90LWEtY3Vyc29y") { totalCount } }'],
    ['a club cursor on kits', '{ kits(after: "WyJhIiwxXQ") { totalCount } }'],
    ['garbage as a cursor', '{ club(id: 1) { kits(after: "%%%") { totalCount } } }'],
  ])('answers BAD_USER_INPUT for %s', async (_, query) => {
    const r = await gql(app, query);
    expect(r.status).toBe(200);
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('search', () => {
  it('finds clubs, kits, brands and competitions case-insensitively, exact matches first', async () => {
    const { brands } = await data(app, '{ brands { name } }');
    const brand = brands[0].name as string;
    const d = await data(
      app,
      'query($t: String!) { search(text: $t, first: 10) { __typename ... on Brand { name } ... on Club { name } ... on Kit { name } ... on Competition { name } } }',
      { t: brand.toUpperCase() },
    );
    expect(d.search[0]).toEqual({ __typename: 'Brand', name: brand });
    const kits = await data(app, '{ search(text: "home", first: 5) { __typename ... on Kit { name } } }');
    expect(kits.search).toHaveLength(5);
    for (const k of kits.search) expect(k.name.toLowerCase()).toContain('home');
  });

  it('treats LIKE wildcards in the text literally', async () => {
    const d = await data(app, '{ search(text: "%", first: 5) { __typename } }');
    expect(d.search).toEqual([]);
  });

  it('refuses empty text with BAD_USER_INPUT', async () => {
    const r = await gql(app, '{ search(text: "  ") { __typename } }');
    expect(r.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('SQL statements', () => {
  it('runs at most 5 statements for 50 nested kits with club, season, brand and competitions', async () => {
    const { result, statements } = await countSql(database, () => data(app, NESTED_KITS, { first: 50 }));
    expect(result.kits.edges).toHaveLength(50);
    expect(result.kits.edges[0].node.competitions.length).toBeGreaterThan(0);
    expect(statements.length).toBeLessThanOrEqual(5);
  });

  it('runs the same number of statements for 100 kits as for 10', async () => {
    const small = await countSql(database, () => data(app, NESTED_KITS, { first: 10 }));
    const large = await countSql(database, () => data(app, NESTED_KITS, { first: 100 }));
    expect(large.statements.length).toBe(small.statements.length);
  });

  it('keeps nested relation lists to one statement per level', async () => {
    const { statements } = await countSql(database, () =>
      data(
        app,
        '{ clubs(first: 20) { edges { node { kits(first: 5) { edges { node { brand { name } season { label } } } } } } } }',
      ),
    );
    // clubs, kit ids by club, kits by id, brands, seasons
    expect(statements.length).toBeLessThanOrEqual(5);
  });
});
