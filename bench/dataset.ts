/**
 * The bench's own database: created fresh, seeded with the project's seed, then read back (the ids
 * the mixed workload draws from, the counts the report shows) and given sign-in tokens.
 */
import postgres from 'postgres';
import { hashToken, newToken } from '../src/auth/tokens.js';
import { openDatabase } from '../src/db/client.js';
import { userRepository } from '../src/db/repositories/users.js';
import { log } from './log.js';
import { childEnv, runToEnd } from './processes.js';

/** Drops the database if a previous run left it, and creates it empty. */
export async function createDatabase(admin: postgres.Sql, name: string): Promise<void> {
  await admin.unsafe(`drop database if exists "${name}" with (force)`);
  await admin.unsafe(`create database "${name}"`);
}

/**
 * A copy of `from` as `to` (dropped first if a previous run left it). Postgres copies a template
 * only while nobody is connected to it: call it before any server starts.
 */
export async function copyDatabase(admin: postgres.Sql, from: string, to: string): Promise<void> {
  await admin.unsafe(`drop database if exists "${to}" with (force)`);
  await admin.unsafe(`create database "${to}" template "${from}"`);
}

/** `npm run db:seed` against the bench database; `kits` null keeps the seed's default size. */
export async function seedDatabase(options: {
  databaseUrl: string;
  databaseName: string;
  kits: number | null;
  root: string;
  logDir: string;
}): Promise<void> {
  const seedArgs = options.kits !== null ? ['--kits', String(options.kits)] : [];
  log(`seeding ${options.databaseName} (npm run db:seed -- ${seedArgs.join(' ')})`);
  const t = performance.now();
  await runToEnd(
    {
      name: 'seed',
      command: 'npm',
      args: ['run', 'db:seed', '--', ...seedArgs],
      env: childEnv({ DATABASE_URL: options.databaseUrl }),
      cwd: options.root,
      logDir: options.logDir,
    },
    5 * 60_000,
  );
  log(`seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

export type Dataset = {
  kitIds: number[];
  clubIds: number[];
  /** What the report shows as "dataset" (key order is the JSON's). */
  counts: {
    kits: number;
    clubs: number;
    users: number;
    items: number;
    seasons: number;
    brands: number;
    competitions: number;
  };
};

export async function readDataset(databaseUrl: string): Promise<Dataset> {
  const bench = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const kitIds = (await bench<{ id: number }[]>`select id from kits order by id`).map((r) => r.id);
    const clubIds = (await bench<{ id: number }[]>`select id from clubs order by id`).map((r) => r.id);
    const [counts] = await bench<
      { users: number; items: number; seasons: number; brands: number; competitions: number }[]
    >`
      select (select count(*)::int from users) as users, (select count(*)::int from collection_items) as items,
             (select count(*)::int from seasons) as seasons, (select count(*)::int from brands) as brands,
             (select count(*)::int from competitions) as competitions`;
    if (!counts) throw new Error('the count query returned no row');
    return { kitIds, clubIds, counts: { kits: kitIds.length, clubs: clubIds.length, ...counts } };
  } finally {
    await bench.end();
  }
}

export type Tokens = { userTokens: string[]; adminToken: string };

/**
 * Tokens for user1…userN and admin, inserted straight into the database: signing in through the
 * API would cost a deliberately slow scrypt per user.
 */
export async function mintTokens(databaseUrl: string, users: number): Promise<Tokens> {
  const database = await openDatabase({ url: databaseUrl, maxConnections: 2 });
  try {
    const repository = userRepository(database.db);
    const mint = async (username: string) => {
      const user = await repository.userByUsername(username);
      if (!user) throw new Error(`the seeded data has no user ${username}`);
      const token = newToken();
      await repository.insertToken(user.id, hashToken(token));
      return token;
    };
    const userTokens: string[] = [];
    for (let i = 1; i <= users; i++) userTokens.push(await mint(`user${i}`));
    const adminToken = await mint('admin');
    return { userTokens, adminToken };
  } finally {
    await database.close();
  }
}
