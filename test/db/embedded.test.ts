/**
 * The embedded default: PGlite on disk, as `npm start` uses it with no DATABASE_URL. It migrates,
 * seeds itself when empty, serves the API, and keeps its data across a restart.
 */
import { count, sql } from 'drizzle-orm';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { clubs, collectionItems, kits, users } from '../../src/db/schema.js';
import { isEmpty, seed, type SeedOptions } from '../../src/db/seed.js';
import { migrationsFolder } from '../../src/paths.js';
import { countSql, data, gql, login, testApp } from '../helpers/app.js';

const SMALL: SeedOptions = {
  clubs: 10,
  seasons: 3,
  brands: 4,
  competitions: 5,
  kits: 120,
  users: 5,
  itemsPerUser: 3,
  password: 'embedded',
  seed: 11,
};

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

let dir: string;
let database: Database;
let app: App;

const rowsOf = <T>(result: unknown): T[] => (Array.isArray(result) ? result : (result as { rows: T[] }).rows);
const appliedMigrations = async (db: Database) =>
  Number(
    rowsOf<{ n: number | string }>(await db.db.execute(sql`select count(*) as n from drizzle.__drizzle_migrations`))[0]!
      .n,
  );
const journalEntries = () =>
  (JSON.parse(readFileSync(path.join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] })
    .entries.length;
const tally = async (db: Database) => ({
  clubs: (await db.db.select({ n: count() }).from(clubs))[0]!.n,
  kits: (await db.db.select({ n: count() }).from(kits))[0]!.n,
  users: (await db.db.select({ n: count() }).from(users))[0]!.n,
  items: (await db.db.select({ n: count() }).from(collectionItems))[0]!.n,
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'kitvault-embedded-'));
  database = await openDatabase({ pgliteDataDir: dir });
});
afterAll(async () => {
  await database?.close().catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the embedded PGlite default', () => {
  it('opens on disk, migrates an empty directory, and reports itself empty until seeded', async () => {
    expect(database.kind).toBe('pglite');
    expect(database.description).toContain(dir);
    await database.migrate();
    expect(await appliedMigrations(database)).toBe(journalEntries());
    expect(await isEmpty(database.db)).toBe(true);
    await seed(database.db, SMALL);
    expect(await isEmpty(database.db)).toBe(false);
    expect(await tally(database)).toMatchObject({ clubs: SMALL.clubs, kits: SMALL.kits, users: SMALL.users + 1 });
    app = testApp(database);
  });

  it('answers a nested query through the app', async () => {
    const d = await data(
      app,
      `{ club(id: 1) { id name kits(first: 100) { totalCount edges { node { id club { id } season { label } brand { name } competitions { id } } } } }
      kits(first: 5) { totalCount } seasons { id } }`,
    );
    expect(d.kits.totalCount).toBe(SMALL.kits);
    expect(d.seasons).toHaveLength(SMALL.seasons);
    expect(d.club.kits.totalCount).toBe(d.club.kits.edges.length);
    expect(d.club.kits.edges.length).toBeGreaterThan(0);
    for (const e of d.club.kits.edges) {
      expect(e.node.club.id).toBe('1');
      expect(e.node.season.label).toMatch(/^\d{4}-\d{2}$/);
      expect(e.node.competitions.length).toBeGreaterThan(0);
    }
  });

  it('signs in and runs an admin mutation, and refuses it to a user', async () => {
    const token = await login(app, 'admin', SMALL.password);
    const { createClub } = await data(
      app,
      'mutation { createClub(input: { name: "Embedded United", country: "Wales", founded: 1901 }) { id slug } }',
      {},
      token,
    );
    expect(createClub.slug).toBe('embedded-united');
    const { club } = await data(app, 'query($id: ID!) { club(id: $id) { name founded kits { totalCount } } }', {
      id: createClub.id,
    });
    expect(club).toEqual({ name: 'Embedded United', founded: 1901, kits: { totalCount: 0 } });

    const userToken = await login(app, 'user1', SMALL.password);
    const refused = await gql(
      app,
      'mutation { createClub(input: { name: "Not Allowed", country: "Wales" }) { id } }',
      {},
      userToken,
    );
    expect(refused.status).toBe(200);
    expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const { addToCollection } = await data(
      app,
      'mutation { addToCollection(input: { kitId: 3, condition: MINT, note: "kept" }) { id kit { id } } }',
      {},
      userToken,
    );
    expect(addToCollection.kit.id).toBe('3');
  });

  it('runs at most 5 SQL statements for 50 nested kits with club, season, brand and competitions', async () => {
    const { result, statements } = await countSql(database, () => data(app, NESTED_KITS, { first: 50 }));
    expect(result.kits.edges).toHaveLength(50);
    expect(result.kits.edges.every((e: any) => e.node.competitions.length > 0)).toBe(true);
    expect(statements.length).toBeGreaterThan(0);
    expect(statements.length, statements.join('\n')).toBeLessThanOrEqual(5);
    // And it does not grow with the page.
    const small = await countSql(database, () => data(app, NESTED_KITS, { first: 10 }));
    expect(statements.length).toBe(small.statements.length);
  });

  it('keeps everything across a restart: reopening the directory finds the data, and migrating again changes nothing', async () => {
    const before = await tally(database);
    const token = await login(app, 'admin', SMALL.password);
    const { clubs: found } = await data(app, '{ clubs(search: "Embedded United") { edges { node { id } } } }');
    expect(found.edges).toHaveLength(1);
    await database.close();

    database = await openDatabase({ pgliteDataDir: dir });
    app = testApp(database);
    expect(await isEmpty(database.db)).toBe(false);
    const migrations = await appliedMigrations(database);
    expect(migrations).toBe(journalEntries());
    await database.migrate();
    expect(await appliedMigrations(database)).toBe(migrations);
    expect(await tally(database)).toEqual(before);

    const again = await data(app, '{ clubs(search: "Embedded United") { edges { node { id name founded } } } }');
    expect(again.clubs.edges).toEqual([
      { node: { id: found.edges[0].node.id, name: 'Embedded United', founded: 1901 } },
    ]);
    // A token issued before the restart still signs in, and the user's collection kept its item.
    const { me } = await data(app, '{ me { username } }', {}, token);
    expect(me.username).toBe('admin');
    const userToken = await login(app, 'user1', SMALL.password);
    const mine = await data(
      app,
      '{ me { collection(first: 100) { edges { node { note kit { id } } } } } }',
      {},
      userToken,
    );
    expect(mine.me.collection.edges[0].node).toEqual({ note: 'kept', kit: { id: '3' } });
  });
});
