import { asc, count, getTableColumns } from 'drizzle-orm';
import type { PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/auth/passwords.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import {
  apiTokens,
  brands,
  clubs,
  collectionItems,
  competitions,
  kitCompetitions,
  kits,
  seasons,
  users,
} from '../../src/db/schema.js';
import { isEmpty, seed, type SeedOptions } from '../../src/db/seed.js';
import { data, gql, login, testApp } from '../helpers/app.js';

const SMALL: SeedOptions = {
  clubs: 15,
  seasons: 4,
  brands: 5,
  competitions: 6,
  kits: 200,
  users: 10,
  itemsPerUser: 4,
  password: 'x',
  seed: 3,
};

const TABLES: [string, PgTable][] = [
  ['clubs', clubs],
  ['seasons', seasons],
  ['brands', brands],
  ['competitions', competitions],
  ['kits', kits],
  ['kit_competitions', kitCompetitions],
  ['users', users],
  ['collection_items', collectionItems],
];

/** Every row of every seeded table, in primary-key order (kit_competitions: by both columns). */
async function contents(database: Database): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const [name, table] of TABLES) {
    const columns =
      table === kitCompetitions ? [kitCompetitions.kitId, kitCompetitions.competitionId] : [getTableColumns(table).id!];
    out[name] = (await database.db
      .select()
      .from(table)
      .orderBy(...columns.map((c) => asc(c)))) as Record<string, unknown>[];
  }
  return out;
}

/**
 * The contents without users' password hashes: each seed hashes the password with a fresh random
 * salt, so the hash string is the one column that is (rightly) not repeatable. Its meaning is
 * checked separately: every hash verifies the seeded password.
 */
async function comparable(database: Database) {
  const all = await contents(database);
  return { ...all, users: all.users!.map(({ passwordHash: _hash, ...rest }) => rest) };
}

const rowCount = async (database: Database, table: PgTable) =>
  (await database.db.select({ n: count() }).from(table))[0]!.n;

async function seeded(options: SeedOptions): Promise<Database> {
  const database = await openDatabase({ pgliteDataDir: 'memory://' });
  await database.migrate();
  await seed(database.db, options);
  return database;
}

let a: Database;
let b: Database;
let other: Database;

beforeAll(async () => {
  [a, b, other] = await Promise.all([seeded(SMALL), seeded(SMALL), seeded({ ...SMALL, seed: SMALL.seed + 1 })]);
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close(), other?.close()]);
});

describe('seed determinism', () => {
  it('produces identical rows, ids and timestamps from the same options in two databases', async () => {
    const [ca, cb] = [await comparable(a), await comparable(b)];
    for (const [name] of TABLES) {
      expect(ca[name as keyof typeof ca]!.length, name).toBeGreaterThan(0);
      expect(cb[name as keyof typeof cb], name).toEqual(ca[name as keyof typeof ca]);
    }
  });

  it('gives every user one hash of the seeded password (salted, so not the same string twice)', async () => {
    const [ua, ub] = [await a.db.select().from(users), await b.db.select().from(users)];
    const hashes = new Set(ua.map((u) => u.passwordHash));
    expect(hashes.size).toBe(1);
    const [hash] = [...hashes];
    expect(await verifyPassword(SMALL.password, hash!)).toBe(true);
    expect(await verifyPassword(`${SMALL.password}!`, hash!)).toBe(false);
    expect(await verifyPassword(SMALL.password, ub[0]!.passwordHash)).toBe(true);
  });

  it('produces different data from a different seed value', async () => {
    const [ca, co] = [await contents(a), await contents(other)];
    expect(co.kits).not.toEqual(ca.kits);
    expect(co.clubs).not.toEqual(ca.clubs);
    expect(co.collection_items).not.toEqual(ca.collection_items);
    // …but the same sizes where the options fix them.
    for (const name of ['clubs', 'seasons', 'brands', 'competitions', 'kits', 'users']) {
      expect(co[name]!.length, name).toBe(ca[name]!.length);
    }
  });
});

describe('seed sizes and shape', () => {
  it('creates as many rows as the options ask, with ids 1..n', async () => {
    const c = await contents(a);
    const expected: Record<string, number> = {
      clubs: SMALL.clubs,
      seasons: SMALL.seasons,
      brands: SMALL.brands,
      competitions: SMALL.competitions,
      kits: SMALL.kits,
      users: SMALL.users + 1, // plus admin
    };
    for (const [name, n] of Object.entries(expected)) {
      expect(c[name], name).toHaveLength(n);
      expect(
        c[name]!.map((r) => r.id),
        name,
      ).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
    // Each kit is in 1 to 3 competitions.
    const perKit = new Map<number, number>();
    for (const r of c.kit_competitions!) perKit.set(r.kitId as number, (perKit.get(r.kitId as number) ?? 0) + 1);
    expect(perKit.size).toBe(SMALL.kits);
    for (const n of perKit.values()) {
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(3);
    }
    // Each ordinary user holds between half and one and a half times itemsPerUser; admin holds none.
    const perUser = new Map<number, number>();
    for (const r of c.collection_items!) perUser.set(r.userId as number, (perUser.get(r.userId as number) ?? 0) + 1);
    const adminId = c.users!.find((u) => u.username === 'admin')!.id as number;
    expect(perUser.has(adminId)).toBe(false);
    for (const u of c.users!.filter((u) => u.id !== adminId)) {
      const n = perUser.get(u.id as number) ?? 0;
      expect(n, String(u.username)).toBeGreaterThanOrEqual(Math.floor(SMALL.itemsPerUser / 2));
      expect(n, String(u.username)).toBeLessThanOrEqual(Math.ceil(SMALL.itemsPerUser * 1.5));
    }
  });

  it('names users admin (ADMIN) and user1..userN (USER)', async () => {
    const rows = await a.db.select({ username: users.username, role: users.role }).from(users).orderBy(asc(users.id));
    expect(rows).toEqual([
      { username: 'admin', role: 'ADMIN' },
      ...Array.from({ length: SMALL.users }, (_, i) => ({ username: `user${i + 1}`, role: 'USER' })),
    ]);
  });

  it('makes consecutive season labels that agree with their startYear, and unique club slugs', async () => {
    const rows = await a.db.select().from(seasons).orderBy(asc(seasons.startYear));
    for (const [i, s] of rows.entries()) {
      expect(s.label).toMatch(/^\d{4}-\d{2}$/);
      expect(Number(s.label.slice(0, 4))).toBe(s.startYear);
      expect(Number(s.label.slice(5))).toBe((s.startYear + 1) % 100);
      if (i > 0) expect(s.startYear).toBe(rows[i - 1]!.startYear + 1);
    }
    const clubRows = await a.db.select().from(clubs);
    expect(new Set(clubRows.map((c) => c.slug)).size).toBe(clubRows.length);
    expect(new Set(clubRows.map((c) => c.name)).size).toBe(clubRows.length);
    for (const c of clubRows) expect(c.slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });
});

describe('seeding again', () => {
  it('replaces whatever was there: same contents, counts unchanged, ids restart at 1', async () => {
    const database = await seeded(SMALL);
    try {
      const before = await comparable(database);
      // Leave traces a reseed must wipe: extra rows, a token, and advanced id sequences.
      const [extra] = await database.db
        .insert(clubs)
        .values({ name: 'Extra FC', slug: 'extra-fc', country: 'Wales' })
        .returning();
      expect(extra!.id).toBe(SMALL.clubs + 1);
      await database.db.insert(apiTokens).values({ userId: 1, tokenHash: 'not-a-real-hash' });
      await database.db.delete(collectionItems);

      await seed(database.db, SMALL);
      expect(await comparable(database)).toEqual(before);
      expect(await rowCount(database, clubs)).toBe(SMALL.clubs);
      expect(await rowCount(database, apiTokens)).toBe(0);

      // Sequences restarted: the next club gets the id after the seeded ones, not after "Extra FC".
      const [next] = await database.db
        .insert(clubs)
        .values({ name: 'Next FC', slug: 'next-fc', country: 'Wales' })
        .returning();
      expect(next!.id).toBe(SMALL.clubs + 1);
    } finally {
      await database.close();
    }
  });

  it('replaces a larger data set with a smaller one entirely', async () => {
    const database = await seeded(SMALL);
    try {
      const smaller = { ...SMALL, clubs: 3, kits: 10, users: 2 };
      await seed(database.db, smaller);
      expect(await rowCount(database, clubs)).toBe(3);
      expect(await rowCount(database, kits)).toBe(10);
      expect(await rowCount(database, users)).toBe(3);
      const kitIds = (await database.db.select({ id: kits.id }).from(kits).orderBy(asc(kits.id))).map((r) => r.id);
      expect(kitIds).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      expect(await isEmpty(database.db)).toBe(false);
    } finally {
      await database.close();
    }
  });
});

describe('seeded users can sign in', () => {
  it('logs in admin and every user with the seeded password, and nobody with another', async () => {
    const app = testApp(a);
    const rows = await a.db.select({ username: users.username }).from(users);
    for (const { username } of rows) {
      const token = await login(app, username, SMALL.password);
      const { me } = await data(app, '{ me { username } }', {}, token);
      expect(me.username).toBe(username);
    }
    const wrong = await gql(app, 'mutation { login(username: "user1", password: "kitvault") { token } }');
    expect(wrong.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
  });
});
