/**
 * Mutation-driven invalidation, precisely: for each kind of write, the cached answers it must drop
 * are dropped (and show the new data), and a named set it must keep stays a hit.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../../src/db/client.js';
import { data, gql, tokensFor } from '../../helpers/app.js';
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

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

type Fixture = {
  A: string;
  B: string;
  C: string;
  S: string;
  S2: string;
  Br: string;
  C1: string;
  C2: string;
  K: string;
  KB: string;
  word: string;
};
type Named = Record<string, [string, Record<string, unknown>?, string?]>;

let counter = 0;

describe.each(backends())('invalidation on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  let prefix = '';
  let reader: CachedApp;
  let writer: CachedApp;
  let admin = '';
  let user1 = '';
  let user2 = '';

  beforeAll(async () => {
    if (skip) return;
    prefix = newPrefix();
    if (backend === 'redis') redis = testRedis();
    reader = await cachedApp(database, { backend, redis, prefix });
    // Mutations go through a second server sharing the Redis: invalidation must reach the reader.
    writer = backend === 'redis' ? await cachedApp(database, { backend, redis, prefix }) : reader;
    const tokens = await tokensFor(reader.app, ['admin', 'user1', 'user2']);
    admin = tokens.get('admin')!.token;
    user1 = tokens.get('user1')!.token;
    user2 = tokens.get('user2')!.token;
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  const mutate = (query: string, variables: Record<string, unknown> = {}, token = admin) =>
    data(writer.app, query, variables, token);

  /** Three clubs, two seasons, a brand, two competitions and a kit in each of A and B. */
  async function fixture(): Promise<Fixture> {
    const n = ++counter;
    const word = `zq${n}x${Date.now().toString(36)}`;
    const club = async (name: string) =>
      (
        await mutate('mutation($i: CreateClubInput!) { createClub(input: $i) { id } }', {
          i: { name, country: 'Wales' },
        })
      ).createClub.id as string;
    const A = await club(`${word} Alpha`);
    const B = await club(`${word} Beta`);
    const C = await club(`${word} Gamma`);
    const year = 1900 + n * 2;
    const season = async (y: number) =>
      (
        await mutate('mutation($l: String!) { createSeason(input: { label: $l }) { id } }', {
          l: `${y}-${String((y + 1) % 100).padStart(2, '0')}`,
        })
      ).createSeason.id as string;
    const S = await season(year);
    const S2 = await season(year + 1);
    const Br = (
      await mutate('mutation($n: String!) { createBrand(input: { name: $n }) { id } }', { n: `${word} Brand` })
    ).createBrand.id as string;
    const comp = async (name: string) =>
      (
        await mutate('mutation($n: String!) { createCompetition(input: { name: $n, country: "Wales" }) { id } }', {
          n: name,
        })
      ).createCompetition.id as string;
    const C1 = await comp(`${word} Cup`);
    const C2 = await comp(`${word} League`);
    const kit = async (clubId: string, name: string) =>
      (
        await mutate('mutation($i: CreateKitInput!) { createKit(input: $i) { id } }', {
          i: { clubId, seasonId: S, brandId: Br, type: 'HOME', name, primaryColour: 'red', competitionIds: [C1, C2] },
        })
      ).createKit.id as string;
    const K = await kit(A, `${word} Alpha Home`);
    const KB = await kit(B, `${word} Beta Home`);
    await kit(C, `${word} Gamma Home`);
    return { A, B, C, S, S2, Br, C1, C2, K, KB, word };
  }

  function queries(f: Fixture): Named {
    return {
      kitsA: ['query($c: ID) { kits(clubId: $c) { totalCount edges { node { id name } } } }', { c: f.A }],
      kitsB: ['query($c: ID) { kits(clubId: $c) { totalCount edges { node { id name } } } }', { c: f.B }],
      kitsC: ['query($c: ID) { kits(clubId: $c) { totalCount edges { node { id name } } } }', { c: f.C }],
      clubAKits: ['query($c: ID!) { club(id: $c) { kits { totalCount edges { node { name } } } } }', { c: f.A }],
      clubBKits: ['query($c: ID!) { club(id: $c) { kits { totalCount edges { node { name } } } } }', { c: f.B }],
      clubCKits: ['query($c: ID!) { club(id: $c) { kits { totalCount edges { node { name } } } } }', { c: f.C }],
      clubASeasons: ['query($c: ID!) { club(id: $c) { seasons { label } } }', { c: f.A }],
      seasonKits: ['query($s: ID!) { season(id: $s) { kits(first: 100) { totalCount } } }', { s: f.S }],
      brandKits: ['query($b: ID!) { brand(id: $b) { kits { totalCount } } }', { b: f.Br }],
      compKits: ['query($c: ID!) { competition(id: $c) { kits { totalCount } } }', { c: f.C1 }],
      allKits: ['{ kits(first: 5) { totalCount } }'],
      awayKits: ['{ kits(type: AWAY, first: 5) { totalCount } }'],
      kitSearch: ['query($t: String!) { search(text: $t) { __typename ... on Kit { id name } } }', { t: f.word }],
      clubSearch: ['query($t: String!) { clubs(search: $t) { totalCount edges { node { name } } } }', { t: f.word }],
      kitK: ['query($k: ID!) { kit(id: $k) { name } }', { k: f.K }],
      kitKB: ['query($k: ID!) { kit(id: $k) { name } }', { k: f.KB }],
      kitKClub: ['query($k: ID!) { kit(id: $k) { club { name } } }', { k: f.K }],
      kitKCompetitions: ['query($k: ID!) { kit(id: $k) { competitions { name } } }', { k: f.K }],
      clubA: ['query($c: ID!) { club(id: $c) { name } }', { c: f.A }],
      clubB: ['query($c: ID!) { club(id: $c) { name } }', { c: f.B }],
      clubs: ['{ clubs(first: 100) { totalCount } }'],
      welshClubs: ['{ clubs(country: "wales", first: 100) { totalCount } }'],
      brands: ['{ brands { name } }'],
      seasons: ['{ seasons { label } }'],
      competitions: ['{ competitions { name } }'],
      collection1: [
        '{ me { collection(first: 100) { totalCount edges { node { id condition kit { id } } } } } }',
        {},
        user1,
      ],
      collection2: [
        '{ me { collection(first: 100) { totalCount edges { node { id condition kit { id } } } } } }',
        {},
        user2,
      ],
    };
  }

  async function warm(named: Named, names: string[]) {
    for (const n of names) {
      const [q, v, t] = named[n]!;
      await gql(reader.app, q, v, t);
    }
    await reader.caches.settled();
    for (const n of names) {
      const [q, v, t] = named[n]!;
      const r = await gql(reader.app, q, v, t);
      expect(r.extensions?.responseCache?.hit, `${n} warmed`).toBe(true);
    }
  }

  /** Warms drops and keeps, runs the write, and checks each answer is (not) a hit and is current. */
  async function expectDropsAndKeeps(
    f: Fixture,
    write: () => Promise<unknown>,
    drops: string[],
    keeps: string[],
    uncached: CachedApp['app'] = writer.app,
  ) {
    const named = queries(f);
    await warm(named, [...drops, ...keeps]);
    await write();
    for (const n of [...drops, ...keeps]) {
      const [q, v, t] = named[n]!;
      const r = await gql(reader.app, q, v, t);
      expect(r.extensions?.responseCache?.hit, `${n} should be ${drops.includes(n) ? 'dropped' : 'kept'}`).toBe(
        keeps.includes(n),
      );
      if (drops.includes(n)) {
        // What the cache now serves is what the database says.
        const truth = await gql(uncached, q, v, t);
        expect(r.data, n).toEqual(truth.data);
      }
    }
  }

  it.skipIf(skip)(
    `createKit for club A drops A's, its season's, brand's, competitions' and unfiltered lists and searches, keeps B's${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const f = await fixture();
      await expectDropsAndKeeps(
        f,
        () =>
          mutate('mutation($i: CreateKitInput!) { createKit(input: $i) { id } }', {
            i: {
              clubId: f.A,
              seasonId: f.S,
              brandId: f.Br,
              type: 'AWAY',
              name: `${f.word} Alpha Away`,
              primaryColour: 'blue',
              competitionIds: [f.C1],
            },
          }),
        [
          'kitsA',
          'clubAKits',
          'clubASeasons',
          'seasonKits',
          'brandKits',
          'compKits',
          'allKits',
          'awayKits',
          'kitSearch',
        ],
        ['kitsB', 'clubBKits', 'kitsC', 'kitK', 'clubA', 'clubs', 'brands', 'seasons', 'competitions', 'collection1'],
      );
    },
  );

  it.skipIf(skip)('renaming a kit drops what shows it and kit searches, keeps other clubs’ lists', async () => {
    const f = await fixture();
    await expectDropsAndKeeps(
      f,
      () =>
        mutate('mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }', {
          i: { id: f.K, name: `${f.word} Alpha Home Renamed` },
        }),
      ['kitK', 'kitsA', 'clubAKits', 'kitSearch'],
      ['kitsB', 'clubBKits', 'kitKB', 'allKits', 'clubA', 'brands'],
    );
  });

  it.skipIf(skip)('moving a kit from A to B drops both clubs’ lists and keeps C’s', async () => {
    const f = await fixture();
    await expectDropsAndKeeps(
      f,
      () =>
        mutate('mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }', {
          i: { id: f.K, clubId: f.B, seasonId: f.S2 },
        }),
      ['kitsA', 'kitsB', 'clubAKits', 'clubBKits', 'clubASeasons', 'seasonKits', 'kitK'],
      ['kitsC', 'clubCKits', 'kitKB', 'clubA', 'clubB', 'brands', 'competitions'],
    );
  });

  it.skipIf(skip)(
    'deleting a kit drops its lists and the collections that held it, keeps other collections',
    async () => {
      const f = await fixture();
      await data(
        reader.app,
        'mutation($k: ID!) { addToCollection(input: { kitId: $k, condition: MINT }) { id } }',
        { k: f.K },
        user1,
      );
      await expectDropsAndKeeps(
        f,
        () => mutate('mutation($k: ID!) { deleteKit(id: $k) }', { k: f.K }),
        ['kitK', 'kitsA', 'clubAKits', 'seasonKits', 'brandKits', 'compKits', 'allKits', 'kitSearch', 'collection1'],
        ['kitsB', 'clubBKits', 'kitKB', 'collection2', 'clubA', 'brands'],
      );
    },
  );

  it.skipIf(skip)(
    'renaming a club drops answers that showed it without selecting its id, keeps lists that did not show it',
    async () => {
      const f = await fixture();
      await expectDropsAndKeeps(
        f,
        () =>
          mutate('mutation($i: UpdateClubInput!) { updateClub(input: $i) { id } }', {
            i: { id: f.A, name: `${f.word} Alpha Renamed` },
          }),
        ['clubA', 'kitKClub', 'clubs', 'welshClubs', 'clubSearch'],
        ['clubB', 'kitsA', 'kitsB', 'kitK', 'brands'],
      );
    },
  );

  it.skipIf(skip)('creating and deleting a club drop the club lists only', async () => {
    const f = await fixture();
    let id = '';
    await expectDropsAndKeeps(
      f,
      async () =>
        (id = (
          await mutate('mutation($n: String!) { createClub(input: { name: $n, country: "Wales" }) { id } }', {
            n: `${f.word} Lone Rovers`,
          })
        ).createClub.id),
      ['clubs', 'welshClubs'],
      ['clubA', 'kitsA', 'brands', 'seasons'],
    );
    await expectDropsAndKeeps(
      f,
      () => mutate('mutation($c: ID!) { deleteClub(id: $c) }', { c: id }),
      ['clubs', 'welshClubs'],
      ['clubA', 'kitsA'],
    );
  });

  it.skipIf(skip)('season writes drop the season list and what shows the season, keep brands', async () => {
    const f = await fixture();
    await expectDropsAndKeeps(
      f,
      () =>
        mutate('mutation($i: UpdateSeasonInput!) { updateSeason(input: $i) { id } }', {
          i: { id: f.S2, label: '1850-51' },
        }),
      ['seasons'],
      ['brands', 'seasonKits', 'kitsA'],
    );
    await expectDropsAndKeeps(
      f,
      () => mutate('mutation($s: ID!) { deleteSeason(id: $s) }', { s: f.S2 }),
      ['seasons'],
      ['brands', 'seasonKits'],
    );
  });

  it.skipIf(skip)('brand writes drop the brand list and what shows the brand, keep seasons', async () => {
    const f = await fixture();
    await expectDropsAndKeeps(
      f,
      () =>
        mutate('mutation($i: UpdateBrandInput!) { updateBrand(input: $i) { id } }', {
          i: { id: f.Br, name: `${f.word} Brand Renamed` },
        }),
      ['brands', 'brandKits'],
      ['seasons', 'kitsA', 'competitions'],
    );
    await expectDropsAndKeeps(
      f,
      () => mutate('mutation($n: String!) { createBrand(input: { name: $n }) { id } }', { n: `${f.word} New Brand` }),
      ['brands'],
      ['seasons', 'brandKits'],
    );
  });

  it.skipIf(skip)(
    'deleting a competition drops the competition list and its kits’ competitions, keeps seasons',
    async () => {
      const f = await fixture();
      await expectDropsAndKeeps(
        f,
        () => mutate('mutation($c: ID!) { deleteCompetition(id: $c) }', { c: f.C2 }),
        ['competitions', 'kitKCompetitions'],
        ['seasons', 'brands', 'compKits', 'kitK'],
      );
    },
  );

  it.skipIf(skip)('collection writes drop the owner’s collection only', async () => {
    const f = await fixture();
    let item = '';
    await expectDropsAndKeeps(
      f,
      async () =>
        (item = (
          await data(
            writer.app,
            'mutation($k: ID!) { addToCollection(input: { kitId: $k, condition: GOOD }) { id } }',
            { k: f.K },
            user1,
          )
        ).addToCollection.id),
      ['collection1'],
      ['collection2', 'kitK', 'kitsA'],
    );
    await expectDropsAndKeeps(
      f,
      () =>
        data(
          writer.app,
          'mutation($i: ID!) { updateCollectionItem(input: { id: $i, condition: WORN }) { id } }',
          { i: item },
          user1,
        ),
      ['collection1'],
      ['collection2', 'kitK'],
    );
    await expectDropsAndKeeps(
      f,
      () => data(writer.app, 'mutation($i: ID!) { removeFromCollection(id: $i) }', { i: item }, user1),
      ['collection1'],
      ['collection2', 'kitK'],
    );
  });

  it.skipIf(skip)('a kit cached as missing is dropped when a kit with that id is created', async () => {
    const f = await fixture();
    const q = 'query($k: ID!) { kit(id: $k) { id } }';
    // The fixture made kits K, K+1, K+2 in a row; the next create takes K+3.
    const upcoming = String(Number(f.K) + 3);
    await gql(reader.app, q, { k: upcoming });
    await reader.caches.settled();
    expect((await gql(reader.app, q, { k: upcoming })).extensions?.responseCache?.hit).toBe(true);
    const created = await mutate('mutation($i: CreateKitInput!) { createKit(input: $i) { id } }', {
      i: {
        clubId: f.C,
        seasonId: f.S,
        brandId: f.Br,
        type: 'THIRD',
        name: `${f.word} Gamma Third`,
        primaryColour: 'green',
      },
    });
    expect(created.createKit.id).toBe(upcoming);
    const after = await gql(reader.app, q, { k: upcoming });
    expect(after.data?.kit).toEqual({ id: upcoming });
  });

  if (backend === 'redis') {
    // Runs last: after every write above, the keyspace holds no key without a TTL.
    it.skipIf(skip)('leaves every key with a TTL', async () => {
      await reader.caches.settled();
      const keys = await keysUnder(redis!, prefix);
      expect(keys.some((k) => k.includes('}:r:'))).toBe(true);
      for (const key of keys) expect(await redis!.pttl(key), key).toBeGreaterThan(0);
    });
  }
});
