/**
 * `npm run db:seed [-- --kits 2000 --clubs 100 --users 50 --seed 7]`: migrates if needed, then
 * replaces the data with the deterministic set.
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { openDatabase } from './client.js';
import { DEFAULT_SEED, seed, type SeedOptions } from './seed.js';

const config = loadConfig();
const { values } = parseArgs({
  options: {
    clubs: { type: 'string' },
    seasons: { type: 'string' },
    brands: { type: 'string' },
    competitions: { type: 'string' },
    kits: { type: 'string' },
    users: { type: 'string' },
    items: { type: 'string' },
    seed: { type: 'string' },
  },
});

function count(name: keyof typeof values, fallback: number, min = 0): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > 10_000_000) {
    console.error(`--${name} must be a whole number from ${min} to 10000000, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const options: SeedOptions = {
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

const database = await openDatabase({
  url: config.databaseUrl,
  pgliteDataDir: config.pgliteDataDir,
  maxConnections: 1,
});
const started = performance.now();
try {
  await database.migrate();
  await seed(database.db, options);
  const s = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `seeded ${database.description} in ${s}s: ${options.clubs} clubs, ${options.seasons} seasons, ${options.brands} brands, ` +
      `${options.competitions} competitions, ${options.kits} kits, ${options.users} users (+ admin)`,
  );
} finally {
  await database.close();
}
