/**
 * `npm run db:seed [-- --kits 2000 --clubs 100 --users 50 --seed 7]`: migrates if needed, then
 * replaces the data with the deterministic set. With NODE_ENV=production it refuses to seed logins
 * with the published default password: set SEED_PASSWORD, or pass `--allow-default-password`.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { openDatabase, type Database, type DatabaseOptions } from './client.js';
import { DEFAULT_SEED, seed, seedPasswordRefusal, type SeedOptions } from './seed.js';

class UsageError extends Error {}

export type SeedCommandIo = {
  out?: { log(line: string): void; error(line: string): void };
  /** How the database is opened (tests hand in one they keep). */
  open?: (options: DatabaseOptions) => Promise<Database>;
};

/** Runs the command; resolves to its exit code (0 done, 2 refused or bad arguments). */
export async function seedCommand(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  { out = console, open = openDatabase }: SeedCommandIo = {},
): Promise<number> {
  let options: SeedOptions;
  let config: Config;
  try {
    config = loadConfig(env);
    const { values } = parseArgs({
      args,
      options: {
        clubs: { type: 'string' },
        seasons: { type: 'string' },
        brands: { type: 'string' },
        competitions: { type: 'string' },
        kits: { type: 'string' },
        users: { type: 'string' },
        items: { type: 'string' },
        seed: { type: 'string' },
        'allow-default-password': { type: 'boolean' },
      },
    });
    const count = (name: Exclude<keyof typeof values, 'allow-default-password'>, fallback: number, min = 0) => {
      const raw = values[name];
      if (raw === undefined) return fallback;
      const n = Number(raw);
      if (!Number.isInteger(n) || n < min || n > 10_000_000)
        throw new UsageError(`--${name} must be a whole number from ${min} to 10000000, got "${raw}"`);
      return n;
    };
    options = {
      clubs: count('clubs', DEFAULT_SEED.clubs, 1),
      seasons: count('seasons', DEFAULT_SEED.seasons, 1),
      brands: count('brands', DEFAULT_SEED.brands, 1),
      competitions: count('competitions', DEFAULT_SEED.competitions, 1),
      kits: count('kits', DEFAULT_SEED.kits),
      users: count('users', DEFAULT_SEED.users),
      itemsPerUser: count('items', DEFAULT_SEED.itemsPerUser),
      seed: count('seed', DEFAULT_SEED.seed),
      password: config.seedPassword,
    };
    const refused = seedPasswordRefusal({
      password: config.seedPassword,
      production: config.production,
      allowDefault: values['allow-default-password'] === true,
    });
    if (refused)
      throw new UsageError(
        `refusing to seed: ${refused}, which anybody can read in the README. ` +
          'Set SEED_PASSWORD to a password of your own, or pass --allow-default-password if you really mean it.',
      );
  } catch (error) {
    // ConfigError, UsageError, and parseArgs' own (unknown or malformed options)
    const code = String((error as { code?: unknown }).code);
    if (error instanceof ConfigError || error instanceof UsageError || code.startsWith('ERR_PARSE_ARGS')) {
      out.error((error as Error).message);
      return 2;
    }
    throw error;
  }

  const database = await open({
    url: config.databaseUrl,
    pgliteDataDir: config.pgliteDataDir,
    maxConnections: 1,
  });
  const started = performance.now();
  try {
    await database.migrate();
    await seed(database.db, options);
    const s = ((performance.now() - started) / 1000).toFixed(1);
    out.log(
      `seeded ${database.description} in ${s}s: ${options.clubs} clubs, ${options.seasons} seasons, ${options.brands} brands, ` +
        `${options.competitions} competitions, ${options.kits} kits, ${options.users} users (+ admin)`,
    );
  } finally {
    await database.close();
  }
  return 0;
}

// Run when invoked as a script (tsx src/db/seed-cli.ts, node dist/src/db/seed-cli.js), not when imported.
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) {
  process.exitCode = await seedCommand(process.argv.slice(2));
}
