/**
 * Production never gets logins with the published default password by accident: `npm run db:seed`
 * refuses (unless SEED_PASSWORD is one's own or --allow-default-password is given), and the embedded
 * default's first start seeds the catalogue without logins.
 */
import { count, sql } from 'drizzle-orm';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/auth/passwords.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { seedCommand } from '../../src/db/seed-cli.js';
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

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kitvault-seed-prod-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const output = () => {
  const lines: string[] = [];
  return { lines, out: { log: (l: string) => lines.push(l), error: (l: string) => lines.push(l) } };
};

async function adminHash(dataDir: string): Promise<string | undefined> {
  const database = await openDatabase({ pgliteDataDir: dataDir });
  try {
    return (await database.db.select().from(users)).find((u) => u.username === 'admin')?.passwordHash;
  } finally {
    await database.close();
  }
}

describe('npm run db:seed in production', () => {
  it('refuses the published default password, given or defaulted, before touching the database', async () => {
    const dataDir = path.join(tempDir(), 'db');
    for (const env of [
      { NODE_ENV: 'production', PGLITE_DATA_DIR: dataDir },
      { NODE_ENV: 'production', PGLITE_DATA_DIR: dataDir, SEED_PASSWORD: DEFAULT_SEED_PASSWORD },
    ]) {
      const { lines, out } = output();
      expect(await seedCommand(ARGS, env, out)).toBe(2);
      expect(lines.join('\n')).toMatch(/refusing to seed.*SEED_PASSWORD.*--allow-default-password/s);
    }
    expect(existsSync(dataDir)).toBe(false);
  });

  it('seeds with a password of its own, or the default when explicitly allowed', async () => {
    const dataDir = path.join(tempDir(), 'db');
    const own = output();
    expect(
      await seedCommand(
        ARGS,
        { NODE_ENV: 'production', PGLITE_DATA_DIR: dataDir, SEED_PASSWORD: 'not-in-the-readme' },
        own.out,
      ),
    ).toBe(0);
    expect(own.lines.join('\n')).toMatch(/^seeded /);
    expect(await verifyPassword('not-in-the-readme', (await adminHash(dataDir))!)).toBe(true);

    const allowed = output();
    expect(
      await seedCommand(
        [...ARGS, '--allow-default-password'],
        { NODE_ENV: 'production', PGLITE_DATA_DIR: dataDir },
        allowed.out,
      ),
    ).toBe(0);
    expect(await verifyPassword(DEFAULT_SEED_PASSWORD, (await adminHash(dataDir))!)).toBe(true);
  }, 120_000);
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
