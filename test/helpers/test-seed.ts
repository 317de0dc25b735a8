import type { SeedOptions } from '../../src/db/seed.js';

/** A small, deterministic data set every test database starts from. */
export const TEST_SEED: SeedOptions = {
  clubs: 20,
  seasons: 5,
  brands: 6,
  competitions: 8,
  kits: 400,
  users: 60,
  itemsPerUser: 6,
  password: 'kitvault',
  seed: 7,
};
