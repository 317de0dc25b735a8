/**
 * Production never gets logins with the published default password by accident: `npm run db:seed`
 * refuses (unless SEED_PASSWORD is one's own or --allow-default-password is given), and the embedded
 * default's first start seeds the catalogue without logins.
 */
import { count, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/auth/passwords.js';
import { openDatabase, type Database, type DatabaseOptions } from '../../src/db/client.js';
import { seedCommand, type SeedCommandIo } from '../../src/db/seed-cli.js';
import { collectionItems, kits, users } from '../../src/db/schema.js';
import { DEFAULT_SEED_PASSWORD, seedFirstStart, type SeedOptions } from '../../src/db/seed.js';

const SIZES: Omit<SeedOptions, 'password'> = {
  clubs: 5,
  seasons: 2,
  brands: 3,
  competitions: 3,
  kits: 30,
  users: 3,
  itemsPerUser: 2,
  seed: 5,
};
const ARGS = ['--clubs', '5', '--seasons', '2', '--brands', '3', '--competitions', '3', '--kits', '30', '--users', '3'];

/** The command's output, and a database it may open: one in-memory PGlite, kept across runs. */
function harness(database: Database) {
  const lines: string[] = [];
  const opened: DatabaseOptions[] = [];
  const io: SeedCommandIo = {
    out: { log: (l) => lines.push(l), error: (l) => lines.push(l) },
    open: async (options) => {
      opened.push(options);
      return { ...database, close: async () => {} };
    },
  };
  return { lines, opened, io };
}

async function adminHash(database: Database): Promise<string | undefined> {
  return (await database.db.select().from(users)).find((u) => u.username === 'admin')?.passwordHash;
}

describe('npm run db:seed in production', () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ pgliteDataDir: 'memory://' });
  });
  afterAll(() => database?.close());

  it('refuses the published default password, given or defaulted, before opening the database', async () => {
    for (const env of [{ NODE_ENV: 'production' }, { NODE_ENV: 'production', SEED_PASSWORD: DEFAULT_SEED_PASSWORD }]) {
      const { lines, opened, io } = harness(database);
      expect(await seedCommand(ARGS, env, io)).toBe(2);
      expect(lines.join('\n')).toMatch(/refusing to seed.*SEED_PASSWORD.*--allow-default-password/s);
      expect(opened).toEqual([]);
    }
  });

  it('seeds with a password of its own, or the default when explicitly allowed', async () => {
    const own = harness(database);
    const env = { NODE_ENV: 'production', PGLITE_DATA_DIR: '/somewhere/else' };
    expect(await seedCommand(ARGS, { ...env, SEED_PASSWORD: 'not-in-the-readme' }, own.io)).toBe(0);
    expect(own.opened).toMatchObject([{ url: undefined, pgliteDataDir: '/somewhere/else' }]);
    expect(own.lines.join('\n')).toMatch(/^seeded .*30 kits, 3 users/);
    expect(await verifyPassword('not-in-the-readme', (await adminHash(database))!)).toBe(true);

    const allowed = harness(database);
    expect(await seedCommand([...ARGS, '--allow-default-password'], env, allowed.io)).toBe(0);
    expect(await verifyPassword(DEFAULT_SEED_PASSWORD, (await adminHash(database))!)).toBe(true);

    // Outside production the default is what it always was.
    expect(await seedCommand(ARGS, {}, harness(database).io)).toBe(0);
    expect(await verifyPassword(DEFAULT_SEED_PASSWORD, (await adminHash(database))!)).toBe(true);
  }, 120_000);

  it('still refuses bad arguments', async () => {
    const { lines, opened, io } = harness(database);
    expect(await seedCommand(['--kits', 'many'], {}, io)).toBe(2);
    expect(await seedCommand(['--bogus'], {}, io)).toBe(2);
    expect(lines).toEqual(['--kits must be a whole number from 0 to 10000000, got "many"', "Unknown option '--bogus'"]);
    expect(opened).toEqual([]);
  });
});

describe("the embedded default's first start", () => {
  let database: Database;
  beforeAll(async () => {
    database = await openDatabase({ pgliteDataDir: 'memory://' });
    await database.migrate();
  });
  afterAll(() => database?.close());
  const empty = () =>
    database.db.execute(
      sql`truncate table collection_items, api_tokens, users, kit_competitions, kits, competitions, brands, seasons, clubs restart identity cascade`,
    );
  const tally = async () => ({
    kits: (await database.db.select({ n: count() }).from(kits))[0]!.n,
    users: (await database.db.select({ n: count() }).from(users))[0]!.n,
    items: (await database.db.select({ n: count() }).from(collectionItems))[0]!.n,
  });

  it('seeds the catalogue without logins in production on the default password, and only once', async () => {
    const options = { password: DEFAULT_SEED_PASSWORD, production: true, sizes: SIZES };
    expect(await seedFirstStart(database.db, options)).toBe('seeded without logins');
    expect(await tally()).toEqual({ kits: 30, users: 0, items: 0 });
    expect(await seedFirstStart(database.db, options)).toBe('not empty');
  });

  it('seeds logins in production with a password of its own, and in development with the default', async () => {
    await empty();
    expect(await seedFirstStart(database.db, { password: 'own-password', production: true, sizes: SIZES })).toBe(
      'seeded',
    );
    expect((await tally()).users).toBe(4);
    await empty();
    expect(
      await seedFirstStart(database.db, { password: DEFAULT_SEED_PASSWORD, production: false, sizes: SIZES }),
    ).toBe('seeded');
    expect((await tally()).users).toBe(4);
  }, 60_000);
});
