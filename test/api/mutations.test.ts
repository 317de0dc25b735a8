import { asc, getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/client.js';
import { brands, clubs, collectionItems, competitions, kitCompetitions, kits, seasons } from '../../src/db/schema.js';
import { data, gql, login, testApp, type GqlResult } from '../helpers/app.js';
import { openTestDatabase } from '../helpers/database.js';

let database: Database;
let app: App;
let admin: string;
let user1: string;
let user2: string;
/** An admin token that has been logged out: it must open nothing. */
let revokedAdmin: string;

beforeAll(async () => {
  database = await openTestDatabase();
  app = testApp(database);
  [admin, user1, user2, revokedAdmin] = await Promise.all([
    login(app, 'admin'),
    login(app, 'user1'),
    login(app, 'user2'),
    login(app, 'admin'),
  ]);
  await data(app, 'mutation { logout }', {}, revokedAdmin);
});
afterAll(() => database?.close());

// ---------------------------------------------------------------------------------------------
// Fresh names, labels and entities, so tests do not depend on each other's order.

let counter = 0;
const fresh = (prefix: string) => `${prefix} ${++counter}`;
/** A valid season label no seeded season has (seeds use recent years). */
const freshLabel = () => {
  const start = 1900 + ++counter;
  return `${start}-${String((start + 1) % 100).padStart(2, '0')}`;
};

const ids = (connection: { edges: { node: { id: string } }[] }) => connection.edges.map((e) => e.node.id);

async function createClub(extra: Record<string, unknown> = {}): Promise<{ id: string; name: string; slug: string }> {
  const d = await data(
    app,
    'mutation($i: CreateClubInput!) { createClub(input: $i) { id name slug } }',
    { i: { name: fresh('Fixture Club'), country: 'Wales', ...extra } },
    admin,
  );
  return d.createClub;
}
async function createSeason(): Promise<{ id: string; label: string }> {
  const d = await data(
    app,
    'mutation($i: CreateSeasonInput!) { createSeason(input: $i) { id label } }',
    { i: { label: freshLabel() } },
    admin,
  );
  return d.createSeason;
}
async function createBrand(): Promise<{ id: string; name: string }> {
  const d = await data(
    app,
    'mutation($i: CreateBrandInput!) { createBrand(input: $i) { id name } }',
    { i: { name: fresh('Fixture Brand') } },
    admin,
  );
  return d.createBrand;
}
async function createCompetition(): Promise<{ id: string; name: string }> {
  const d = await data(
    app,
    'mutation($i: CreateCompetitionInput!) { createCompetition(input: $i) { id name } }',
    { i: { name: fresh('Fixture Cup'), country: 'Spain' } },
    admin,
  );
  return d.createCompetition;
}
async function createKit(extra: Record<string, unknown> = {}): Promise<{ id: string; name: string }> {
  const d = await data(
    app,
    'mutation($i: CreateKitInput!) { createKit(input: $i) { id name } }',
    {
      i: {
        clubId: '1',
        seasonId: '1',
        brandId: '1',
        type: 'HOME',
        name: fresh('Fixture Kit'),
        primaryColour: 'red',
        competitionIds: ['1'],
        ...extra,
      },
    },
    admin,
  );
  return d.createKit;
}
async function collect(
  token: string,
  kitId: string,
  condition = 'GOOD',
  note: string | null = null,
): Promise<{ id: string }> {
  const d = await data(
    app,
    'mutation($i: AddToCollectionInput!) { addToCollection(input: $i) { id } }',
    { i: { kitId, condition, note } },
    token,
  );
  return d.addToCollection;
}

const ME = /* GraphQL */ `
  {
    me {
      id
      username
      role
      collection(first: 100) {
        totalCount
        edges {
          node {
            id
            condition
            note
            kit {
              id
            }
          }
        }
      }
    }
  }
`;
type Me = {
  id: string;
  username: string;
  role: string;
  collection: {
    totalCount: number;
    edges: { node: { id: string; condition: string; note: string | null; kit: { id: string } } }[];
  };
};
const me = async (token: string): Promise<Me> => (await data<{ me: Me }>(app, ME, {}, token)).me;

/** Every row of some tables, in key order: the database's state, to compare before and after. */
async function snapshot(...tables: PgTable[]) {
  const out: unknown[][] = [];
  for (const table of tables) {
    // Ordered by every column: a total order, whatever the table's key.
    const columns = Object.values(getTableColumns(table));
    out.push(
      await database.db
        .select()
        .from(table)
        .orderBy(...columns.map((c) => asc(c))),
    );
  }
  return out;
}

/** A client mistake: the given code, HTTP 200, and nothing internal (no stack, no SQL) shown. */
function expectError(r: GqlResult, code: string) {
  expect(r.status).toBe(200);
  expect(r.errors, JSON.stringify(r.data)).toBeDefined();
  expect(r.errors).toHaveLength(1);
  expect(r.errors![0]!.extensions?.code, r.errors![0]!.message).toBe(code);
  expectNothingLeaked(r);
}

function expectNothingLeaked(r: GqlResult) {
  for (const e of r.errors ?? []) {
    expect(e.extensions?.code, e.message).not.toBe('INTERNAL_SERVER_ERROR');
    expect(e.message).not.toMatch(/\n\s*at |\bat .+:\d+:\d+/);
    expect(e.message).not.toMatch(
      /\bselect\b|\binsert\b|\bupdate\s+"?\w+"?\s+set\b|\bdelete\s+from\b|\breturning\b|violates|constraint|\$\d/i,
    );
    expect(e.extensions ?? {}).not.toHaveProperty('stacktrace');
    expect(e.extensions ?? {}).not.toHaveProperty('originalError');
  }
}

// ---------------------------------------------------------------------------------------------

describe('admin mutations refuse everyone but an admin', () => {
  type Attempt = { query: string; variables: Record<string, unknown> };
  const cases: [string, PgTable[], () => Promise<Attempt>][] = [
    [
      'createClub',
      [clubs],
      async () => ({
        query: 'mutation($i: CreateClubInput!) { createClub(input: $i) { id } }',
        variables: { i: { name: fresh('Refused Club'), country: 'England' } },
      }),
    ],
    [
      'updateClub',
      [clubs],
      async () => ({
        query: 'mutation($i: UpdateClubInput!) { updateClub(input: $i) { id } }',
        variables: {
          i: { id: (await createClub()).id, name: fresh('Renamed'), slug: fresh('renamed').replace(/ /g, '-') },
        },
      }),
    ],
    [
      'deleteClub',
      [clubs],
      async () => ({ query: 'mutation($id: ID!) { deleteClub(id: $id) }', variables: { id: (await createClub()).id } }),
    ],
    [
      'createSeason',
      [seasons],
      async () => ({
        query: 'mutation($i: CreateSeasonInput!) { createSeason(input: $i) { id } }',
        variables: { i: { label: freshLabel() } },
      }),
    ],
    [
      'updateSeason',
      [seasons],
      async () => ({
        query: 'mutation($i: UpdateSeasonInput!) { updateSeason(input: $i) { id } }',
        variables: { i: { id: (await createSeason()).id, label: freshLabel() } },
      }),
    ],
    [
      'deleteSeason',
      [seasons],
      async () => ({
        query: 'mutation($id: ID!) { deleteSeason(id: $id) }',
        variables: { id: (await createSeason()).id },
      }),
    ],
    [
      'createBrand',
      [brands],
      async () => ({
        query: 'mutation($i: CreateBrandInput!) { createBrand(input: $i) { id } }',
        variables: { i: { name: fresh('Refused Brand') } },
      }),
    ],
    [
      'updateBrand',
      [brands],
      async () => ({
        query: 'mutation($i: UpdateBrandInput!) { updateBrand(input: $i) { id } }',
        variables: { i: { id: (await createBrand()).id, name: fresh('Renamed Brand') } },
      }),
    ],
    [
      'deleteBrand',
      [brands],
      async () => ({
        query: 'mutation($id: ID!) { deleteBrand(id: $id) }',
        variables: { id: (await createBrand()).id },
      }),
    ],
    [
      'createCompetition',
      [competitions],
      async () => ({
        query: 'mutation($i: CreateCompetitionInput!) { createCompetition(input: $i) { id } }',
        variables: { i: { name: fresh('Refused Cup'), country: 'Italy' } },
      }),
    ],
    [
      'updateCompetition',
      [competitions],
      async () => ({
        query: 'mutation($i: UpdateCompetitionInput!) { updateCompetition(input: $i) { id } }',
        variables: { i: { id: (await createCompetition()).id, name: fresh('Renamed Cup'), country: 'France' } },
      }),
    ],
    [
      'deleteCompetition',
      [competitions, kitCompetitions],
      async () => {
        const competition = await createCompetition();
        await createKit({ competitionIds: [competition.id] });
        return { query: 'mutation($id: ID!) { deleteCompetition(id: $id) }', variables: { id: competition.id } };
      },
    ],
    [
      'createKit',
      [kits, kitCompetitions],
      async () => ({
        query: 'mutation($i: CreateKitInput!) { createKit(input: $i) { id } }',
        variables: {
          i: {
            clubId: '1',
            seasonId: '1',
            brandId: '1',
            type: 'AWAY',
            name: fresh('Refused Kit'),
            primaryColour: 'blue',
            competitionIds: ['1', '2'],
          },
        },
      }),
    ],
    [
      'updateKit',
      [kits, kitCompetitions],
      async () => ({
        query: 'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }',
        variables: {
          i: {
            id: (await createKit()).id,
            clubId: '2',
            seasonId: '2',
            name: fresh('Moved Kit'),
            competitionIds: ['3'],
          },
        },
      }),
    ],
    [
      'deleteKit',
      [kits, kitCompetitions, collectionItems],
      async () => {
        const kit = await createKit();
        await collect(user2, kit.id);
        return { query: 'mutation($id: ID!) { deleteKit(id: $id) }', variables: { id: kit.id } };
      },
    ],
  ];
  const callers: [string, () => string | undefined, string][] = [
    ['anonymous', () => undefined, 'UNAUTHENTICATED'],
    ['a revoked admin token', () => revokedAdmin, 'UNAUTHENTICATED'],
    ['user1 (role USER)', () => user1, 'FORBIDDEN'],
  ];
  const table = cases.flatMap(([mutation, tables, attempt]) =>
    callers.map(([who, token, code]) => [mutation, who, code, tables, attempt, token] as const),
  );

  it.each(table)(
    '%s by %s → %s, and the database is unchanged',
    async (mutation, _who, code, tables, attempt, token) => {
      const { query, variables } = await attempt();
      const before = await snapshot(...tables);
      const r = await gql(app, query, variables, token());
      expectError(r, code);
      expect(r.errors![0]!.path).toEqual([mutation]);
      expect(r.data).toBeNull();
      expect(await snapshot(...tables)).toEqual(before);
    },
  );

  it('lets the same request through for an admin (so the refusals above are about the caller)', async () => {
    for (const [mutation, , attempt] of cases) {
      const { query, variables } = await attempt();
      const r = await gql(app, query, variables, admin);
      expect(r.errors, mutation).toBeUndefined();
      expect(r.data?.[mutation], mutation).toBeTruthy();
    }
  });
});

describe('admin writes: clubs, seasons, brands, competitions', () => {
  const CLUB = 'query($id: ID!) { club(id: $id) { id name slug country founded kits(first: 100) { totalCount } } }';

  it('creates a club, deriving the slug from the name, and reads it back', async () => {
    const name = fresh('Created Athletic');
    const { createClub } = await data(
      app,
      'mutation($i: CreateClubInput!) { createClub(input: $i) { id name slug country founded } }',
      { i: { name, country: 'Portugal', founded: 1923 } },
      admin,
    );
    expect(createClub).toMatchObject({
      name,
      slug: name.toLowerCase().replace(/ /g, '-'),
      country: 'Portugal',
      founded: 1923,
    });
    const { club } = await data(app, CLUB, { id: createClub.id });
    expect(club).toEqual({ ...createClub, kits: { totalCount: 0 } });
    const { clubs } = await data(app, 'query($s: String) { clubs(search: $s) { edges { node { id } } } }', { s: name });
    expect(ids(clubs)).toEqual([createClub.id]);
  });

  it('keeps an explicit slug and updates only the fields given', async () => {
    const slug = fresh('explicit slug').replace(/ /g, '-');
    const created = await createClub({ slug, founded: 1950 });
    expect(created.slug).toBe(slug);
    const name = fresh('Updated Rovers');
    const { updateClub } = await data(
      app,
      'mutation($i: UpdateClubInput!) { updateClub(input: $i) { id name slug country founded } }',
      { i: { id: created.id, name, country: 'Norway' } },
      admin,
    );
    expect(updateClub).toEqual({ id: created.id, name, slug, country: 'Norway', founded: 1950 });
    expect((await data(app, CLUB, { id: created.id })).club).toMatchObject({
      name,
      slug,
      country: 'Norway',
      founded: 1950,
    });

    const newSlug = fresh('new slug').replace(/ /g, '-');
    await data(
      app,
      'mutation($i: UpdateClubInput!) { updateClub(input: $i) { id } }',
      { i: { id: created.id, slug: newSlug, founded: null } },
      admin,
    );
    expect((await data(app, CLUB, { id: created.id })).club).toMatchObject({
      name,
      slug: newSlug,
      country: 'Norway',
      founded: null,
    });
  });

  it('deletes a club without kits: answers its id, then the club reads as null', async () => {
    const created = await createClub();
    const { deleteClub } = await data(app, 'mutation($id: ID!) { deleteClub(id: $id) }', { id: created.id }, admin);
    expect(deleteClub).toBe(created.id);
    expect((await data(app, CLUB, { id: created.id })).club).toBeNull();
    const again = await gql(app, 'mutation($id: ID!) { deleteClub(id: $id) }', { id: created.id }, admin);
    expectError(again, 'NOT_FOUND');
  });

  it('refuses to delete a club, season or brand that still has kits, losing nothing', async () => {
    const { kit } = await data(app, '{ kit(id: 7) { club { id } season { id } brand { id } } }');
    const cases = [
      ['deleteClub', kit.club.id],
      ['deleteSeason', kit.season.id],
      ['deleteBrand', kit.brand.id],
    ];
    for (const [mutation, id] of cases) {
      const before = await snapshot(clubs, seasons, brands, kits, kitCompetitions, collectionItems);
      const r = await gql(app, `mutation($id: ID!) { ${mutation}(id: $id) }`, { id }, admin);
      expectError(r, 'BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain('kits');
      expect(await snapshot(clubs, seasons, brands, kits, kitCompetitions, collectionItems)).toEqual(before);
    }
    const after = await data(app, 'query($id: ID!) { club(id: $id) { id kits(first: 1) { totalCount } } }', {
      id: kit.club.id,
    });
    expect(after.club.kits.totalCount).toBeGreaterThan(0);
  });

  it('creates, relabels and deletes a season, deriving startYear from the label', async () => {
    const label = freshLabel();
    const { createSeason } = await data(
      app,
      'mutation($i: CreateSeasonInput!) { createSeason(input: $i) { id label startYear } }',
      { i: { label } },
      admin,
    );
    expect(createSeason).toMatchObject({ label, startYear: Number(label.slice(0, 4)) });
    const listed = await data(app, '{ seasons { id label startYear } }');
    expect(listed.seasons).toContainEqual(createSeason);

    const relabel = freshLabel();
    const { updateSeason } = await data(
      app,
      'mutation($i: UpdateSeasonInput!) { updateSeason(input: $i) { id label startYear } }',
      { i: { id: createSeason.id, label: relabel } },
      admin,
    );
    expect(updateSeason).toEqual({ id: createSeason.id, label: relabel, startYear: Number(relabel.slice(0, 4)) });
    expect(
      (await data(app, 'query($id: ID!) { season(id: $id) { id label startYear } }', { id: createSeason.id })).season,
    ).toEqual(updateSeason);

    const { deleteSeason } = await data(
      app,
      'mutation($id: ID!) { deleteSeason(id: $id) }',
      { id: createSeason.id },
      admin,
    );
    expect(deleteSeason).toBe(createSeason.id);
    expect((await data(app, 'query($id: ID!) { season(id: $id) { id } }', { id: createSeason.id })).season).toBeNull();
    expect((await data(app, '{ seasons { id } }')).seasons.map((s: { id: string }) => s.id)).not.toContain(
      createSeason.id,
    );
  });

  it('creates, renames and deletes a brand', async () => {
    const name = fresh('Created Brand');
    const { createBrand } = await data(
      app,
      'mutation($i: CreateBrandInput!) { createBrand(input: $i) { id name } }',
      { i: { name } },
      admin,
    );
    expect(createBrand.name).toBe(name);
    expect((await data(app, '{ brands { id name } }')).brands).toContainEqual(createBrand);

    const renamed = fresh('Renamed Brand');
    const { updateBrand } = await data(
      app,
      'mutation($i: UpdateBrandInput!) { updateBrand(input: $i) { id name } }',
      { i: { id: createBrand.id, name: renamed } },
      admin,
    );
    expect(updateBrand).toEqual({ id: createBrand.id, name: renamed });
    expect((await data(app, 'query($id: ID!) { brand(id: $id) { id name } }', { id: createBrand.id })).brand).toEqual(
      updateBrand,
    );

    const { deleteBrand } = await data(
      app,
      'mutation($id: ID!) { deleteBrand(id: $id) }',
      { id: createBrand.id },
      admin,
    );
    expect(deleteBrand).toBe(createBrand.id);
    expect((await data(app, 'query($id: ID!) { brand(id: $id) { id } }', { id: createBrand.id })).brand).toBeNull();
  });

  it('creates and updates a competition', async () => {
    const name = fresh('Created Cup');
    const { createCompetition } = await data(
      app,
      'mutation($i: CreateCompetitionInput!) { createCompetition(input: $i) { id name country } }',
      { i: { name, country: 'Denmark' } },
      admin,
    );
    expect(createCompetition).toMatchObject({ name, country: 'Denmark' });
    expect((await data(app, '{ competitions { id name country } }')).competitions).toContainEqual(createCompetition);

    const { updateCompetition } = await data(
      app,
      'mutation($i: UpdateCompetitionInput!) { updateCompetition(input: $i) { id name country } }',
      { i: { id: createCompetition.id, country: 'Sweden' } },
      admin,
    );
    expect(updateCompetition).toEqual({ id: createCompetition.id, name, country: 'Sweden' });
    expect(
      (await data(app, 'query($id: ID!) { competition(id: $id) { id name country } }', { id: createCompetition.id }))
        .competition,
    ).toEqual(updateCompetition);
  });

  it('deletes a competition: it reads as null and leaves its kits, which no longer list it', async () => {
    const competition = await createCompetition();
    const kit = await createKit({ competitionIds: [competition.id, '2'] });
    const { deleteCompetition } = await data(
      app,
      'mutation($id: ID!) { deleteCompetition(id: $id) }',
      { id: competition.id },
      admin,
    );
    expect(deleteCompetition).toBe(competition.id);
    const d = await data(
      app,
      'query($c: ID!, $k: ID!) { competition(id: $c) { id } kit(id: $k) { id competitions { id } } }',
      { c: competition.id, k: kit.id },
    );
    expect(d.competition).toBeNull();
    expect(d.kit.competitions.map((c: { id: string }) => c.id)).toEqual(['2']);
  });
});

describe('admin writes: kits', () => {
  const KIT = /* GraphQL */ `
    query ($id: ID!) {
      kit(id: $id) {
        id
        name
        type
        primaryColour
        secondaryColours
        description
        createdAt
        updatedAt
        club {
          id
        }
        season {
          id
        }
        brand {
          id
        }
        competitions {
          id
        }
      }
    }
  `;
  const KIT_LISTS = /* GraphQL */ `
    query ($a: ID!, $b: ID!, $sa: ID!, $sb: ID!) {
      a: club(id: $a) {
        kits(first: 100) {
          totalCount
          edges {
            node {
              id
            }
          }
        }
      }
      b: club(id: $b) {
        kits(first: 100) {
          totalCount
          edges {
            node {
              id
            }
          }
        }
      }
      sa: season(id: $sa) {
        kits(first: 100) {
          totalCount
          edges {
            node {
              id
            }
          }
        }
      }
      sb: season(id: $sb) {
        kits(first: 100) {
          totalCount
          edges {
            node {
              id
            }
          }
        }
      }
    }
  `;

  it('creates a kit with its competitions and reads every relation back', async () => {
    const [club, season, brand, c1, c2] = [
      await createClub(),
      await createSeason(),
      await createBrand(),
      await createCompetition(),
      await createCompetition(),
    ];
    const name = fresh('Created Kit');
    const { createKit } = await data(
      app,
      'mutation($i: CreateKitInput!) { createKit(input: $i) { id name type competitions { id } } }',
      {
        i: {
          clubId: club.id,
          seasonId: season.id,
          brandId: brand.id,
          type: 'THIRD',
          name,
          primaryColour: 'teal',
          secondaryColours: ['white', 'navy'],
          description: 'Fresh.',
          competitionIds: [c1.id, c2.id, c1.id],
        },
      },
      admin,
    );
    expect(createKit).toMatchObject({ name, type: 'THIRD' });
    const { kit } = await data(app, KIT, { id: createKit.id });
    expect(kit).toMatchObject({
      id: createKit.id,
      name,
      type: 'THIRD',
      primaryColour: 'teal',
      secondaryColours: ['white', 'navy'],
      description: 'Fresh.',
      club: { id: club.id },
      season: { id: season.id },
      brand: { id: brand.id },
    });
    expect(kit.competitions.map((c: { id: string }) => c.id).sort()).toEqual([c1.id, c2.id].sort());
    const lists = await data(
      app,
      'query($c: ID!, $comp: ID!) { club(id: $c) { kits { edges { node { id } } } } competition(id: $comp) { kits(first: 100) { edges { node { id } } } } }',
      { c: club.id, comp: c1.id },
    );
    expect(ids(lists.club.kits)).toEqual([createKit.id]);
    expect(ids(lists.competition.kits)).toEqual([createKit.id]);
  });

  it('defaults secondaryColours and competitions to empty when omitted', async () => {
    const { createKit } = await data(
      app,
      'mutation($i: CreateKitInput!) { createKit(input: $i) { id secondaryColours description competitions { id } } }',
      {
        i: {
          clubId: '3',
          seasonId: '2',
          brandId: '2',
          type: 'GOALKEEPER',
          name: fresh('Plain Kit'),
          primaryColour: 'green',
        },
      },
      admin,
    );
    expect(createKit).toMatchObject({ secondaryColours: [], description: null, competitions: [] });
  });

  it('updates a kit’s fields and replaces its competitions', async () => {
    const kit = await createKit({ competitionIds: ['1', '2'], description: 'Old.' });
    const before = (await data(app, KIT, { id: kit.id })).kit;
    const name = fresh('Updated Kit');
    await data(
      app,
      'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }',
      {
        i: {
          id: kit.id,
          name,
          type: 'SPECIAL',
          primaryColour: 'gold',
          secondaryColours: ['black'],
          description: null,
          competitionIds: ['3'],
        },
      },
      admin,
    );
    const { kit: after } = await data(app, KIT, { id: kit.id });
    expect(after).toMatchObject({
      name,
      type: 'SPECIAL',
      primaryColour: 'gold',
      secondaryColours: ['black'],
      description: null,
      competitions: [{ id: '3' }],
    });
    expect(after.club).toEqual(before.club);
    expect(after.createdAt).toBe(before.createdAt);
    expect(new Date(after.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(before.updatedAt).getTime());

    // Without competitionIds the set stays as it is.
    await data(
      app,
      'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }',
      { i: { id: kit.id, primaryColour: 'silver' } },
      admin,
    );
    expect((await data(app, KIT, { id: kit.id })).kit).toMatchObject({
      name,
      primaryColour: 'silver',
      competitions: [{ id: '3' }],
    });
  });

  it('moves a kit to another club and season: it leaves the old lists and joins the new ones', async () => {
    const [from, to, seasonFrom, seasonTo] = [
      await createClub(),
      await createClub(),
      await createSeason(),
      await createSeason(),
    ];
    const kit = await createKit({ clubId: from.id, seasonId: seasonFrom.id });
    const vars = { a: from.id, b: to.id, sa: seasonFrom.id, sb: seasonTo.id };
    const before = await data(app, KIT_LISTS, vars);
    expect(ids(before.a.kits)).toEqual([kit.id]);
    expect(ids(before.b.kits)).toEqual([]);

    const { updateKit } = await data(
      app,
      'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id club { id } season { id } } }',
      { i: { id: kit.id, clubId: to.id, seasonId: seasonTo.id } },
      admin,
    );
    expect(updateKit).toEqual({ id: kit.id, club: { id: to.id }, season: { id: seasonTo.id } });
    const after = await data(app, KIT_LISTS, vars);
    expect(after.a.kits).toEqual({ totalCount: 0, edges: [] });
    expect(ids(after.b.kits)).toEqual([kit.id]);
    expect(after.sa.kits).toEqual({ totalCount: 0, edges: [] });
    expect(ids(after.sb.kits)).toEqual([kit.id]);
    const seasonsOfClubs = await data(
      app,
      'query($a: ID!, $b: ID!) { a: club(id: $a) { seasons { id } } b: club(id: $b) { seasons { id } } }',
      { a: from.id, b: to.id },
    );
    expect(seasonsOfClubs).toEqual({ a: { seasons: [] }, b: { seasons: [{ id: seasonTo.id }] } });
  });

  it('moves a kit between seeded clubs with many kits', async () => {
    const kit = await createKit({ clubId: '4' });
    const lists =
      'query { a: club(id: 4) { kits(first: 100) { totalCount edges { node { id } } } } b: club(id: 5) { kits(first: 100) { totalCount edges { node { id } } } } }';
    const before = await data(app, lists);
    expect(ids(before.a.kits)).toContain(kit.id);
    await data(
      app,
      'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }',
      { i: { id: kit.id, clubId: '5' } },
      admin,
    );
    const after = await data(app, lists);
    expect(ids(after.a.kits)).toEqual(ids(before.a.kits).filter((id) => id !== kit.id));
    expect(ids(after.b.kits)).toEqual([...ids(before.b.kits), kit.id].sort((x, y) => Number(x) - Number(y)));
    expect(after.b.kits.totalCount).toBe(before.b.kits.totalCount + 1);
  });

  it('deletes a kit: answers its id, the kit reads as null, and it leaves its club and every collection', async () => {
    const kit = await createKit({ clubId: '6' });
    const item1 = await collect(user1, kit.id, 'MINT', 'signed');
    const item2 = await collect(user2, kit.id, 'WORN');
    const [before1, before2] = [await me(user1), await me(user2)];
    expect(before1.collection.edges.map((e) => e.node.id)).toContain(item1.id);

    const { deleteKit } = await data(app, 'mutation($id: ID!) { deleteKit(id: $id) }', { id: kit.id }, admin);
    expect(deleteKit).toBe(kit.id);
    expect((await data(app, 'query($id: ID!) { kit(id: $id) { id } }', { id: kit.id })).kit).toBeNull();
    expect(
      ids((await data(app, '{ club(id: 6) { kits(first: 100) { edges { node { id } } } } }')).club.kits),
    ).not.toContain(kit.id);

    const [after1, after2] = [await me(user1), await me(user2)];
    expect(after1.collection.totalCount).toBe(before1.collection.totalCount - 1);
    expect(after2.collection.totalCount).toBe(before2.collection.totalCount - 1);
    expect(after1.collection.edges.map((e) => e.node)).toEqual(
      before1.collection.edges.map((e) => e.node).filter((n) => n.id !== item1.id),
    );
    expect(after2.collection.edges.map((e) => e.node.id)).not.toContain(item2.id);
    for (const e of [...after1.collection.edges, ...after2.collection.edges]) expect(e.node.kit.id).not.toBe(kit.id);
  });
});

describe('bad input is the client’s mistake, never an internal error', () => {
  const byId: [string, string][] = [
    ['updateClub', 'mutation($id: ID!) { updateClub(input: { id: $id, name: "X" }) { id } }'],
    ['deleteClub', 'mutation($id: ID!) { deleteClub(id: $id) }'],
    ['updateSeason', 'mutation($id: ID!) { updateSeason(input: { id: $id, label: "1850-51" }) { id } }'],
    ['deleteSeason', 'mutation($id: ID!) { deleteSeason(id: $id) }'],
    ['updateBrand', 'mutation($id: ID!) { updateBrand(input: { id: $id, name: "X" }) { id } }'],
    ['deleteBrand', 'mutation($id: ID!) { deleteBrand(id: $id) }'],
    ['updateCompetition', 'mutation($id: ID!) { updateCompetition(input: { id: $id, name: "X" }) { id } }'],
    ['deleteCompetition', 'mutation($id: ID!) { deleteCompetition(id: $id) }'],
    ['updateKit', 'mutation($id: ID!) { updateKit(input: { id: $id, name: "X" }) { id } }'],
    ['deleteKit', 'mutation($id: ID!) { deleteKit(id: $id) }'],
  ];
  const kitInput = (over: Record<string, unknown>) => ({
    clubId: '1',
    seasonId: '1',
    brandId: '1',
    type: 'HOME',
    name: fresh('Bad Kit'),
    primaryColour: 'red',
    competitionIds: ['1'],
    ...over,
  });
  const CREATE_KIT = 'mutation($i: CreateKitInput!) { createKit(input: $i) { id } }';

  it.each(byId.flatMap(([m, q]) => ['abc', '0', '-3', '99999999999'].map((id) => [m, id, q] as const)))(
    '%s with the malformed id %j → BAD_USER_INPUT naming the argument',
    async (_m, id, query) => {
      const before = await snapshot(clubs, seasons, brands, competitions, kits);
      const r = await gql(app, query, { id }, admin);
      expectError(r, 'BAD_USER_INPUT');
      expect(r.errors![0]!.extensions?.field).toMatch(/^(input\.)?id$/);
      expect(await snapshot(clubs, seasons, brands, competitions, kits)).toEqual(before);
    },
  );

  it.each([
    ['clubId', { clubId: 'abc' }],
    ['seasonId', { seasonId: '0' }],
    ['brandId', { brandId: '1.5' }],
    ['competitionIds', { competitionIds: ['1', 'abc'] }],
  ])('createKit with a malformed %s → BAD_USER_INPUT, nothing created', async (field, over) => {
    const before = await snapshot(kits);
    const r = await gql(app, CREATE_KIT, { i: kitInput(over) }, admin);
    expectError(r, 'BAD_USER_INPUT');
    expect(String(r.errors![0]!.extensions?.field)).toContain(field);
    expect(await snapshot(kits)).toEqual(before);
  });

  it.each(byId)('%s on an id that does not exist → NOT_FOUND', async (_m, query) => {
    const before = await snapshot(clubs, seasons, brands, competitions, kits);
    const r = await gql(app, query, { id: '999999' }, admin);
    expectError(r, 'NOT_FOUND');
    expect(r.errors![0]!.message).toContain('999999');
    expect(await snapshot(clubs, seasons, brands, competitions, kits)).toEqual(before);
  });

  it.each([
    ['club', { clubId: '999999' }],
    ['season', { seasonId: '999999' }],
    ['brand', { brandId: '999999' }],
    ['competition', { competitionIds: ['1', '999999'] }],
  ])('createKit referring to a %s that does not exist → NOT_FOUND, nothing created', async (type, over) => {
    const before = await snapshot(kits, kitCompetitions);
    const r = await gql(app, CREATE_KIT, { i: kitInput(over) }, admin);
    expectError(r, 'NOT_FOUND');
    expect(r.errors![0]!.message.toLowerCase()).toContain(type);
    expect(await snapshot(kits, kitCompetitions)).toEqual(before);
  });

  it('updateKit moving to a club that does not exist → NOT_FOUND, and the kit stays where it was', async () => {
    const kit = await createKit({ competitionIds: ['2'] });
    const before = await snapshot(kits, kitCompetitions);
    const r = await gql(
      app,
      'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }',
      { i: { id: kit.id, clubId: '999999', name: 'Lost', competitionIds: ['3'] } },
      admin,
    );
    expectError(r, 'NOT_FOUND');
    expect(await snapshot(kits, kitCompetitions)).toEqual(before);
  });

  const invalid: [string, string, Record<string, unknown>, PgTable][] = [
    [
      'createClub with an empty name',
      'mutation($i: CreateClubInput!) { createClub(input: $i) { id } }',
      { name: '', country: 'Spain' },
      clubs,
    ],
    [
      'createClub with a blank name',
      'mutation($i: CreateClubInput!) { createClub(input: $i) { id } }',
      { name: '   ', country: 'Spain' },
      clubs,
    ],
    [
      'createClub with an empty country',
      'mutation($i: CreateClubInput!) { createClub(input: $i) { id } }',
      { name: 'Countryless FC', country: '' },
      clubs,
    ],
    [
      'createClub with a name that makes no slug',
      'mutation($i: CreateClubInput!) { createClub(input: $i) { id } }',
      { name: '!!!', country: 'Spain' },
      clubs,
    ],
    [
      'createClub with a malformed slug',
      'mutation($i: CreateClubInput!) { createClub(input: $i) { id } }',
      { name: 'Sluggish FC', country: 'Spain', slug: 'Not A Slug' },
      clubs,
    ],
    [
      'createClub founded in the future',
      'mutation($i: CreateClubInput!) { createClub(input: $i) { id } }',
      { name: 'Future FC', country: 'Spain', founded: new Date().getUTCFullYear() + 5 },
      clubs,
    ],
    [
      'updateClub with an empty name',
      'mutation($i: UpdateClubInput!) { updateClub(input: $i) { id } }',
      { id: '1', name: '' },
      clubs,
    ],
    [
      'createSeason labelled 2023-25',
      'mutation($i: CreateSeasonInput!) { createSeason(input: $i) { id } }',
      { label: '2023-25' },
      seasons,
    ],
    [
      'createSeason labelled 2023',
      'mutation($i: CreateSeasonInput!) { createSeason(input: $i) { id } }',
      { label: '2023' },
      seasons,
    ],
    [
      'createSeason labelled 1700-01',
      'mutation($i: CreateSeasonInput!) { createSeason(input: $i) { id } }',
      { label: '1700-01' },
      seasons,
    ],
    [
      'updateSeason to 2023-25',
      'mutation($i: UpdateSeasonInput!) { updateSeason(input: $i) { id } }',
      { id: '1', label: '2023-25' },
      seasons,
    ],
    [
      'createBrand with an empty name',
      'mutation($i: CreateBrandInput!) { createBrand(input: $i) { id } }',
      { name: '' },
      brands,
    ],
    [
      'updateBrand with an empty name',
      'mutation($i: UpdateBrandInput!) { updateBrand(input: $i) { id } }',
      { id: '1', name: ' ' },
      brands,
    ],
    [
      'createCompetition with an empty name',
      'mutation($i: CreateCompetitionInput!) { createCompetition(input: $i) { id } }',
      { name: '', country: 'Spain' },
      competitions,
    ],
    [
      'updateCompetition with an empty country',
      'mutation($i: UpdateCompetitionInput!) { updateCompetition(input: $i) { id } }',
      { id: '1', country: '' },
      competitions,
    ],
    [
      'createKit with an empty name',
      CREATE_KIT,
      { clubId: '1', seasonId: '1', brandId: '1', type: 'HOME', name: '', primaryColour: 'red' },
      kits,
    ],
    [
      'createKit with six secondary colours',
      CREATE_KIT,
      {
        clubId: '1',
        seasonId: '1',
        brandId: '1',
        type: 'HOME',
        name: 'Rainbow',
        primaryColour: 'red',
        secondaryColours: ['a', 'b', 'c', 'd', 'e', 'f'],
      },
      kits,
    ],
    [
      'updateKit with an empty name',
      'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }',
      { id: '1', name: '' },
      kits,
    ],
    [
      'updateKit with an empty primary colour',
      'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }',
      { id: '1', primaryColour: '  ' },
      kits,
    ],
  ];
  it.each(invalid)('%s → BAD_USER_INPUT naming the field, nothing written', async (_what, query, input, table) => {
    const before = await snapshot(table);
    const r = await gql(app, query, { i: input }, admin);
    expectError(r, 'BAD_USER_INPUT');
    expect(String(r.errors![0]!.extensions?.field ?? '')).toMatch(/^input\.\w+/);
    expect(await snapshot(table)).toEqual(before);
  });

  it('refuses a duplicate club slug, whether derived, explicit or by update', async () => {
    const a = await createClub();
    const b = await createClub();
    const before = await snapshot(clubs);
    const attempts = [
      gql(
        app,
        'mutation($i: CreateClubInput!) { createClub(input: $i) { id } }',
        { i: { name: a.name, country: 'Spain' } },
        admin,
      ),
      gql(
        app,
        'mutation($i: CreateClubInput!) { createClub(input: $i) { id } }',
        { i: { name: fresh('Other Name'), country: 'Spain', slug: a.slug } },
        admin,
      ),
      gql(
        app,
        'mutation($i: UpdateClubInput!) { updateClub(input: $i) { id } }',
        { i: { id: b.id, slug: a.slug, name: 'Half Applied' } },
        admin,
      ),
    ];
    for (const r of await Promise.all(attempts)) {
      expectError(r, 'BAD_USER_INPUT');
      expect(r.errors![0]!.message).toContain('slug');
    }
    expect(await snapshot(clubs)).toEqual(before);
  });

  it('refuses a duplicate season label and a duplicate brand name', async () => {
    const { seasons: seeded } = await data(app, '{ seasons { id label } }');
    const { brands: seededBrands } = await data(app, '{ brands { id name } }');
    const before = await snapshot(seasons, brands);
    const r1 = await gql(
      app,
      'mutation($i: CreateSeasonInput!) { createSeason(input: $i) { id } }',
      { i: { label: seeded[0].label } },
      admin,
    );
    const r2 = await gql(
      app,
      'mutation($i: UpdateSeasonInput!) { updateSeason(input: $i) { id } }',
      { i: { id: seeded[1].id, label: seeded[0].label } },
      admin,
    );
    const r3 = await gql(
      app,
      'mutation($i: CreateBrandInput!) { createBrand(input: $i) { id } }',
      { i: { name: seededBrands[0].name } },
      admin,
    );
    const r4 = await gql(
      app,
      'mutation($i: UpdateBrandInput!) { updateBrand(input: $i) { id } }',
      { i: { id: seededBrands[1].id, name: seededBrands[0].name } },
      admin,
    );
    for (const r of [r1, r2, r3, r4]) expectError(r, 'BAD_USER_INPUT');
    expect(await snapshot(seasons, brands)).toEqual(before);
  });

  it.each([
    [
      'updateClub',
      'mutation($id: ID!) { updateClub(input: { id: $id }) { id name slug country founded } }',
      'query($id: ID!) { e: club(id: $id) { id name slug country founded } }',
    ],
    [
      'updateBrand',
      'mutation($id: ID!) { updateBrand(input: { id: $id }) { id name } }',
      'query($id: ID!) { e: brand(id: $id) { id name } }',
    ],
    [
      'updateCompetition',
      'mutation($id: ID!) { updateCompetition(input: { id: $id }) { id name country } }',
      'query($id: ID!) { e: competition(id: $id) { id name country } }',
    ],
  ])('%s with nothing but the id is no internal error and changes nothing', async (mutation, query, read) => {
    const before = (await data(app, read, { id: '2' })).e;
    const r = await gql(app, query, { id: '2' }, admin);
    expectNothingLeaked(r);
    if (r.errors) expectError(r, 'BAD_USER_INPUT');
    else expect(r.data?.[mutation]).toEqual(before);
    expect((await data(app, read, { id: '2' })).e).toEqual(before);
  });
});

describe('login, me and logout', () => {
  const LOGIN =
    'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { token user { id username role } } }';

  it('signs in with the right password: a token and the user, and `me` with the token is that user', async () => {
    for (const [username, role] of [
      ['admin', 'ADMIN'],
      ['user7', 'USER'],
    ]) {
      const { login: payload } = await data(app, LOGIN, { u: username, p: 'kitvault' });
      expect(payload.token).toEqual(expect.any(String));
      expect(payload.token.length).toBeGreaterThanOrEqual(20);
      expect(payload.user).toMatchObject({ username, role });
      const { me: viewer } = await data(app, '{ me { id username role } }', {}, payload.token);
      expect(viewer).toEqual(payload.user);
    }
  });

  it('issues a different token on each login', async () => {
    const [a, b] = [await login(app, 'user8'), await login(app, 'user8')];
    expect(a).not.toBe(b);
  });

  it('answers a wrong password and an unknown user alike: UNAUTHENTICATED with the same message', async () => {
    const wrong = await gql(app, LOGIN, { u: 'user1', p: 'not-the-password' });
    const unknown = await gql(app, LOGIN, { u: 'nobody-by-this-name', p: 'kitvault' });
    const empty = await gql(app, LOGIN, { u: 'user1', p: '' });
    for (const r of [wrong, unknown, empty]) {
      expectError(r, 'UNAUTHENTICATED');
      expect(r.data).toBeNull();
    }
    expect(unknown.errors![0]!.message).toBe(wrong.errors![0]!.message);
    expect(empty.errors![0]!.message).toBe(wrong.errors![0]!.message);
  });

  it('answers `me` as null when anonymous', async () => {
    const r = await gql(app, '{ me { id } }');
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ me: null });
  });

  it.each([
    ['a token nobody issued', 'kv_thisTokenWasNeverIssuedByKitvault0123456789'],
    ['a malformed token', 'garbage'],
    ['a token with forbidden characters', 'not a token at all!'],
  ])('answers UNAUTHENTICATED to `me` with %s, not anonymous', async (_what, token) => {
    const r = await gql(app, '{ me { id } }', {}, token);
    expectError(r, 'UNAUTHENTICATED');
  });

  it('logout revokes that token only: `me` with it is then UNAUTHENTICATED, another session goes on', async () => {
    const [token, other] = [await login(app, 'user9'), await login(app, 'user9')];
    expect((await data(app, '{ me { username } }', {}, token)).me.username).toBe('user9');
    expect(await data(app, 'mutation { logout }', {}, token)).toEqual({ logout: true });
    expectError(await gql(app, '{ me { id } }', {}, token), 'UNAUTHENTICATED');
    expectError(await gql(app, 'mutation { logout }', {}, token), 'UNAUTHENTICATED');
    expectError(
      await gql(
        app,
        'mutation($i: AddToCollectionInput!) { addToCollection(input: $i) { id } }',
        { i: { kitId: '1', condition: 'GOOD' } },
        token,
      ),
      'UNAUTHENTICATED',
    );
    expect((await data(app, '{ me { username } }', {}, other)).me.username).toBe('user9');
  });

  it('refuses logout when anonymous', async () => {
    const r = await gql(app, 'mutation { logout }');
    expectError(r, 'UNAUTHENTICATED');
  });
});

describe('collections', () => {
  const ADD =
    'mutation($i: AddToCollectionInput!) { addToCollection(input: $i) { id condition note addedAt kit { id } } }';
  const UPDATE =
    'mutation($i: UpdateCollectionItemInput!) { updateCollectionItem(input: $i) { id condition note kit { id } } }';
  const REMOVE = 'mutation($id: ID!) { removeFromCollection(id: $id) }';

  it('adds, updates and removes an item of one’s own, and `me.collection` shows each step', async () => {
    const start = await me(user1);
    const { addToCollection: added } = await data(
      app,
      ADD,
      { i: { kitId: '11', condition: 'EXCELLENT', note: 'home, 1st leg' } },
      user1,
    );
    expect(added).toMatchObject({ condition: 'EXCELLENT', note: 'home, 1st leg', kit: { id: '11' } });
    expect(Number.isNaN(Date.parse(added.addedAt))).toBe(false);

    const afterAdd = await me(user1);
    expect(afterAdd.collection.totalCount).toBe(start.collection.totalCount + 1);
    // Most recently added first.
    expect(afterAdd.collection.edges[0]!.node).toEqual({
      id: added.id,
      condition: 'EXCELLENT',
      note: 'home, 1st leg',
      kit: { id: '11' },
    });
    expect(afterAdd.collection.edges.slice(1)).toEqual(start.collection.edges);

    const { updateCollectionItem } = await data(app, UPDATE, { i: { id: added.id, condition: 'WORN' } }, user1);
    expect(updateCollectionItem).toEqual({ id: added.id, condition: 'WORN', note: 'home, 1st leg', kit: { id: '11' } });
    await data(app, UPDATE, { i: { id: added.id, note: null } }, user1);
    const afterUpdate = await me(user1);
    expect(afterUpdate.collection.edges[0]!.node).toEqual({
      id: added.id,
      condition: 'WORN',
      note: null,
      kit: { id: '11' },
    });

    const { removeFromCollection } = await data(app, REMOVE, { id: added.id }, user1);
    expect(removeFromCollection).toBe(added.id);
    expect(await me(user1)).toEqual(start);
    expectError(await gql(app, REMOVE, { id: added.id }, user1), 'NOT_FOUND');
  });

  it('refuses every collection mutation when anonymous', async () => {
    const item = await collect(user1, '12');
    const before = await snapshot(collectionItems);
    for (const [query, variables] of [
      [ADD, { i: { kitId: '12', condition: 'GOOD' } }],
      [UPDATE, { i: { id: item.id, condition: 'MINT' } }],
      [REMOVE, { id: item.id }],
    ] as const) {
      expectError(await gql(app, query, variables), 'UNAUTHENTICATED');
    }
    expect(await snapshot(collectionItems)).toEqual(before);
  });

  it('answers NOT_FOUND when user2 updates or removes user1’s item, and user1’s item is unchanged', async () => {
    const item = await collect(user1, '13', 'MINT', 'mine');
    const before = await me(user1);
    const update = await gql(app, UPDATE, { i: { id: item.id, condition: 'WORN', note: 'stolen' } }, user2);
    const remove = await gql(app, REMOVE, { id: item.id }, user2);
    expectError(update, 'NOT_FOUND');
    expectError(remove, 'NOT_FOUND');
    // Indistinguishable from an item that does not exist at all.
    const missing = await gql(app, REMOVE, { id: '999999' }, user2);
    expectError(missing, 'NOT_FOUND');
    expect(remove.errors![0]!.message.replace(item.id, 'N')).toBe(missing.errors![0]!.message.replace('999999', 'N'));
    expect(await me(user1)).toEqual(before);
    expect(before.collection.edges.find((e) => e.node.id === item.id)?.node).toEqual({
      id: item.id,
      condition: 'MINT',
      note: 'mine',
      kit: { id: '13' },
    });
  });

  it('an admin cannot edit a user’s item either', async () => {
    const item = await collect(user1, '14', 'GOOD');
    expectError(await gql(app, UPDATE, { i: { id: item.id, condition: 'MINT' } }, admin), 'NOT_FOUND');
    expectError(await gql(app, REMOVE, { id: item.id }, admin), 'NOT_FOUND');
    expect((await me(user1)).collection.edges.find((e) => e.node.id === item.id)?.node.condition).toBe('GOOD');
  });

  it('answers NOT_FOUND for a kit that does not exist, BAD_USER_INPUT for a malformed one or a too-long note', async () => {
    const before = await snapshot(collectionItems);
    expectError(await gql(app, ADD, { i: { kitId: '999999', condition: 'GOOD' } }, user1), 'NOT_FOUND');
    expectError(await gql(app, ADD, { i: { kitId: 'abc', condition: 'GOOD' } }, user1), 'BAD_USER_INPUT');
    expectError(await gql(app, ADD, { i: { kitId: '0', condition: 'GOOD' } }, user1), 'BAD_USER_INPUT');
    expectError(
      await gql(app, ADD, { i: { kitId: '1', condition: 'GOOD', note: 'x'.repeat(501) } }, user1),
      'BAD_USER_INPUT',
    );
    expectError(await gql(app, UPDATE, { i: { id: 'abc', condition: 'GOOD' } }, user1), 'BAD_USER_INPUT');
    expectError(await gql(app, UPDATE, { i: { id: '999999', condition: 'GOOD' } }, user1), 'NOT_FOUND');
    expectError(await gql(app, REMOVE, { id: '0' }, user1), 'BAD_USER_INPUT');
    expect(await snapshot(collectionItems)).toEqual(before);
  });

  it('updateCollectionItem with nothing but the id is no internal error and changes nothing', async () => {
    const item = await collect(user1, '15', 'EXCELLENT', 'as is');
    const r = await gql(app, UPDATE, { i: { id: item.id } }, user1);
    expectNothingLeaked(r);
    if (r.errors) expectError(r, 'BAD_USER_INPUT');
    else
      expect(r.data?.updateCollectionItem).toEqual({
        id: item.id,
        condition: 'EXCELLENT',
        note: 'as is',
        kit: { id: '15' },
      });
    expect((await me(user1)).collection.edges.find((e) => e.node.id === item.id)?.node).toEqual({
      id: item.id,
      condition: 'EXCELLENT',
      note: 'as is',
      kit: { id: '15' },
    });
  });

  it('keeps collections private: each user’s `me.collection` is exactly their own rows', async () => {
    const mine = await collect(user1, '16', 'MINT', 'private');
    const [one, two] = [await me(user1), await me(user2)];
    expect(one.id).not.toBe(two.id);
    const rows = await database.db.select().from(collectionItems);
    const own = (userId: string) =>
      rows
        .filter((r) => String(r.userId) === userId)
        .map((r) => String(r.id))
        .sort((a, b) => Number(b) - Number(a));
    expect(one.collection.edges.map((e) => e.node.id)).toEqual(own(one.id));
    expect(two.collection.edges.map((e) => e.node.id)).toEqual(own(two.id));
    expect(two.collection.totalCount).toBe(own(two.id).length);
    const oneIds = new Set(one.collection.edges.map((e) => e.node.id));
    expect(oneIds.has(mine.id)).toBe(true);
    for (const e of two.collection.edges) expect(oneIds.has(e.node.id)).toBe(false);
    // The login payload's user shows its own collection too, never someone else's.
    const { login: payload } = await data(
      app,
      'mutation { login(username: "user2", password: "kitvault") { user { collection(first: 100) { edges { node { id } } } } } }',
    );
    expect(ids(payload.user.collection)).toEqual(own(two.id));
  });
});
