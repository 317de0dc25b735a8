/**
 * A deterministic data set: the same options always produce the same rows, ids and timestamps
 * (seeded PRNG, fixed clock). It replaces whatever was there and inserts in large batches.
 */
import { sql } from 'drizzle-orm';
import { createHash } from 'node:crypto';
import { hashPassword } from '../auth/passwords.js';
import type { Db } from './client.js';
import { brands, clubs, collectionItems, competitions, kitCompetitions, kits, seasons, users } from './schema.js';
import type { KitConditionValue, KitTypeValue } from './schema.js';

export type SeedOptions = {
  clubs: number;
  seasons: number;
  brands: number;
  competitions: number;
  kits: number;
  users: number;
  itemsPerUser: number;
  password: string;
  /** false: no logins at all (no users, so no collections either), and `password` is not used. Default true. */
  logins?: boolean;
  /** PRNG seed: change it for a different (still deterministic) data set. */
  seed: number;
};

export const DEFAULT_SEED: Omit<SeedOptions, 'password'> = {
  clubs: 300,
  seasons: 25,
  brands: 30,
  competitions: 40,
  kits: 20_000,
  users: 500,
  itemsPerUser: 20,
  seed: 42,
};

/** The password seeded logins get unless SEED_PASSWORD says otherwise: published, so never for production. */
export const DEFAULT_SEED_PASSWORD = 'kitvault';

/**
 * Why seeding logins with this password is refused, or null when it is not: in production the
 * published default password is refused (however it was given) unless explicitly allowed.
 */
export function seedPasswordRefusal(options: {
  password: string;
  production: boolean;
  allowDefault?: boolean;
}): string | null {
  if (!options.production || options.allowDefault || options.password !== DEFAULT_SEED_PASSWORD) return null;
  return 'NODE_ENV=production and SEED_PASSWORD is the published default password';
}

/** What the embedded default seeds on its first start: small, so that start takes seconds. */
export const EMBEDDED_SEED: Omit<SeedOptions, 'password'> = {
  ...DEFAULT_SEED,
  clubs: 60,
  kits: 2_000,
  users: 50,
  itemsPerUser: 10,
};

/** mulberry32: tiny, fast, and good enough for test data; numbers in [0, 1), the same for a seed everywhere. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function prng(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}

const CITIES = [
  'Aldmoor',
  'Brackenford',
  'Castleton',
  'Dunmere',
  'Eastwick',
  'Fernhill',
  'Glenrock',
  'Harrowgate',
  'Ironbridge',
  'Juniper',
  'Kingsholm',
  'Larkspur',
  'Marlow',
  'Northam',
  'Oakridge',
  'Portmere',
  'Queensbury',
  'Ravenscar',
  'Stonebridge',
  'Thornbury',
  'Upton',
  'Valemont',
  'Westerly',
  'Yarmouth',
  'Zennor',
  'Ashby',
  'Bramley',
  'Corvale',
  'Dovercourt',
  'Elmstead',
  'Foxley',
  'Greywater',
  'Highcliff',
  'Islay',
  'Kestrel Bay',
  'Lindow',
  'Moorfield',
  'Newhaven',
  'Orford',
  'Pendle',
  'Redbrook',
  'Saltmarsh',
  'Tidewell',
  'Wexcombe',
  'Aberlin',
  'Montarra',
  'Valdoro',
  'San Lucero',
  'Rivabella',
  'Costanera',
  'Nordby',
  'Halvik',
  'Ostermark',
  'Lindenau',
  'Brunnfeld',
  'Escalona',
  'Porto Alvo',
  'Belmonte',
  'Kastel',
  'Varenne',
];
const SUFFIXES = ['United', 'City', 'Athletic', 'Rovers', 'Wanderers', 'Albion', 'Town', 'FC', 'Sporting', 'Rangers'];
const COUNTRIES = [
  'England',
  'Scotland',
  'Wales',
  'Spain',
  'Italy',
  'Germany',
  'France',
  'Portugal',
  'Netherlands',
  'Belgium',
  'Brazil',
  'Argentina',
  'Denmark',
  'Sweden',
  'Norway',
  'Austria',
];
const BRAND_NAMES = [
  'Adidas',
  'Nike',
  'Puma',
  'Umbro',
  'Kappa',
  'Hummel',
  'Le Coq Sportif',
  'Macron',
  'Joma',
  'New Balance',
  'Errea',
  'Lotto',
  'Diadora',
  'Castore',
  'Mizuno',
  'Asics',
  'Reebok',
  'Admiral',
  'Uhlsport',
  'Jako',
  'Patrick',
  'Bukta',
  'Score Draw',
  'Avec',
  'Kelme',
  'Givova',
  'Legea',
  'Saller',
  'Select',
  'Craft',
];
const COMPETITION_KINDS = ['League', 'Cup', 'Super Cup', 'League Cup', 'Second Division'];
const COLOURS = [
  'red',
  'white',
  'blue',
  'navy',
  'sky blue',
  'black',
  'yellow',
  'green',
  'claret',
  'orange',
  'purple',
  'gold',
  'maroon',
  'silver',
  'pink',
  'teal',
];
const KIT_TYPES: KitTypeValue[] = ['HOME', 'HOME', 'HOME', 'AWAY', 'AWAY', 'THIRD', 'GOALKEEPER', 'SPECIAL'];
const CONDITIONS: KitConditionValue[] = ['MINT', 'EXCELLENT', 'GOOD', 'WORN'];
const EPOCH = Date.UTC(2024, 0, 1);

const slugify = (s: string) =>
  s
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

async function insertChunked<T>(rows: T[], size: number, insert: (chunk: T[]) => Promise<unknown>) {
  for (let i = 0; i < rows.length; i += size) await insert(rows.slice(i, i + size));
}

export async function seed(db: Db, options: SeedOptions): Promise<void> {
  const rand = prng(options.seed);
  // One hash for every seeded login (scrypt is slow on purpose, and they all share one password),
  // salted from the seed so that the same options give byte-identical data.
  const salt = createHash('sha256').update(`kitvault-seed:${options.seed}`).digest().subarray(0, 16);
  const logins = options.logins !== false;
  const passwordHash = logins ? await hashPassword(options.password, salt) : '';

  const clubRows: (typeof clubs.$inferInsert)[] = [];
  const usedNames = new Set<string>();
  for (let i = 0; clubRows.length < options.clubs; i++) {
    const base = `${rand.pick(CITIES)} ${rand.pick(SUFFIXES)}`;
    const name = usedNames.has(base) ? `${base} ${Math.floor(i / CITIES.length) + 2}` : base;
    if (usedNames.has(name)) continue;
    usedNames.add(name);
    clubRows.push({ name, slug: slugify(name), country: rand.pick(COUNTRIES), founded: rand.int(1860, 2010) });
  }
  const seasonRows = Array.from({ length: options.seasons }, (_, i) => {
    const start = 2024 - options.seasons + 1 + i;
    return { label: `${start}-${String((start + 1) % 100).padStart(2, '0')}`, startYear: start };
  });
  const brandRows = Array.from({ length: options.brands }, (_, i) => ({
    name: BRAND_NAMES[i] ?? `Brand ${i + 1}`,
  }));
  const competitionRows = Array.from({ length: options.competitions }, (_, i) => {
    const country = COUNTRIES[i % COUNTRIES.length]!;
    const kind = COMPETITION_KINDS[Math.floor(i / COUNTRIES.length) % COMPETITION_KINDS.length]!;
    const round = Math.floor(i / (COUNTRIES.length * COMPETITION_KINDS.length));
    return { name: `${country} ${kind}${round ? ` ${round + 1}` : ''}`, country };
  });

  const kitRows: (typeof kits.$inferInsert)[] = [];
  const kitCompetitionRows: { kitId: number; competitionId: number }[] = [];
  for (let i = 0; i < options.kits; i++) {
    const clubIndex = rand.int(0, clubRows.length - 1);
    const club = clubRows[clubIndex]!;
    const seasonIndex = rand.int(0, seasonRows.length - 1);
    const type = rand.pick(KIT_TYPES);
    const primary = rand.pick(COLOURS);
    const secondary = Array.from({ length: rand.int(0, 2) }, () => rand.pick(COLOURS)).filter((c) => c !== primary);
    const at = new Date(EPOCH + i * 60_000);
    const typeName = type.charAt(0) + type.slice(1).toLowerCase();
    kitRows.push({
      clubId: clubIndex + 1,
      seasonId: seasonIndex + 1,
      brandId: rand.int(1, brandRows.length),
      type,
      name: `${club.name} ${seasonRows[seasonIndex]!.label} ${typeName}`,
      primaryColour: primary,
      secondaryColours: [...new Set(secondary)],
      description: rand.next() < 0.5 ? `${typeName} shirt in ${primary}.` : null,
      createdAt: at,
      updatedAt: at,
    });
    const comps = new Set<number>();
    const n = rand.int(1, 3);
    for (let c = 0; c < n; c++) comps.add(rand.int(1, competitionRows.length));
    for (const competitionId of comps) kitCompetitionRows.push({ kitId: i + 1, competitionId });
  }

  const userRows = logins
    ? [
        { username: 'admin', passwordHash, role: 'ADMIN' as const, createdAt: new Date(EPOCH) },
        ...Array.from({ length: options.users }, (_, i) => ({
          username: `user${i + 1}`,
          passwordHash,
          role: 'USER' as const,
          createdAt: new Date(EPOCH),
        })),
      ]
    : [];
  const itemRows: (typeof collectionItems.$inferInsert)[] = [];
  if (kitRows.length) {
    for (let u = 2; u <= userRows.length; u++) {
      const n = rand.int(Math.floor(options.itemsPerUser / 2), Math.ceil(options.itemsPerUser * 1.5));
      for (let k = 0; k < n; k++) {
        itemRows.push({
          userId: u,
          kitId: rand.int(1, kitRows.length),
          condition: rand.pick(CONDITIONS),
          note: rand.next() < 0.3 ? 'bought at a stadium shop' : null,
          addedAt: new Date(EPOCH + itemRows.length * 1000),
        });
      }
    }
  }

  await db.transaction(async (tx) => {
    await tx.execute(
      sql`truncate table collection_items, api_tokens, users, kit_competitions, kits, competitions, brands, seasons, clubs restart identity cascade`,
    );
    await insertChunked(clubRows, 2000, (c) => tx.insert(clubs).values(c));
    await insertChunked(seasonRows, 2000, (c) => tx.insert(seasons).values(c));
    await insertChunked(brandRows, 2000, (c) => tx.insert(brands).values(c));
    await insertChunked(competitionRows, 2000, (c) => tx.insert(competitions).values(c));
    await insertChunked(kitRows, 2000, (c) => tx.insert(kits).values(c));
    await insertChunked(kitCompetitionRows, 10_000, (c) => tx.insert(kitCompetitions).values(c));
    await insertChunked(userRows, 2000, (c) => tx.insert(users).values(c));
    await insertChunked(itemRows, 5000, (c) => tx.insert(collectionItems).values(c));
  });
}

/** True when the catalogue has no clubs yet (the embedded default then seeds itself). */
export async function isEmpty(db: Db): Promise<boolean> {
  const rows = await db.select({ id: clubs.id }).from(clubs).limit(1);
  return rows.length === 0;
}

/**
 * The embedded default's first start: when the catalogue is empty, seed the small set. In
 * production with the published default password it seeds the catalogue only, no logins (nobody can
 * sign in with a password the README prints); `npm run db:seed` with a SEED_PASSWORD adds them.
 */
export async function seedFirstStart(
  db: Db,
  options: { password: string; production: boolean; sizes?: Omit<SeedOptions, 'password'> },
): Promise<'not empty' | 'seeded' | 'seeded without logins'> {
  if (!(await isEmpty(db))) return 'not empty';
  const refused = seedPasswordRefusal(options) !== null;
  await seed(db, { ...(options.sizes ?? EMBEDDED_SEED), password: options.password, logins: !refused });
  return refused ? 'seeded without logins' : 'seeded';
}
