/**
 * What the in-memory yoga (scenario 4y) serves: the catalogue read from the database once, and
 * resolvers that answer the bench's catalogue query from it the way the API's do (kits in id order,
 * a kit's competitions by name then id), with no I/O, no DataLoader and no cache.
 */
import { asc } from 'drizzle-orm';
import { GraphQLError } from 'graphql';
import type { Db } from '../src/db/client.js';
import { brands, clubs, competitions, kitCompetitions, kits, seasons } from '../src/db/schema.js';
import type { BrandRow, ClubRow, CompetitionRow, KitRow, SeasonRow } from '../src/db/schema.js';
import { encodeCursor, pageSize } from '../src/resolvers/arguments.js';
import { connectionFromRows } from '../src/resolvers/connection.js';
import type { Resolvers } from '../src/resolvers/generated/types.js';
import { referenced } from '../src/resolvers/rows.js';

export type MemoryCatalogue = {
  /** Every kit in id order: the order of `kits(first:)` (the API's listKits orders by id). */
  kits: KitRow[];
  clubs: Map<number, ClubRow>;
  seasons: Map<number, SeasonRow>;
  brands: Map<number, BrandRow>;
  /** Each kit's competitions by name, then id: the order the API's Kit.competitions gives. */
  competitionsByKit: Map<number, CompetitionRow[]>;
};

const byId = <T extends { id: number }>(rows: readonly T[]): Map<number, T> => new Map(rows.map((r) => [r.id, r]));

const byNameThenId = (a: CompetitionRow, b: CompetitionRow): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id;

/** Reads the tables the catalogue query shows, whole; sorted once here rather than per request. */
export async function readCatalogue(db: Db): Promise<MemoryCatalogue> {
  const [kitRows, clubRows, seasonRows, brandRows, competitionRows, links] = await Promise.all([
    db.select().from(kits).orderBy(asc(kits.id)),
    db.select().from(clubs),
    db.select().from(seasons),
    db.select().from(brands),
    db.select().from(competitions),
    db.select().from(kitCompetitions),
  ]);
  const competitionById = byId(competitionRows);
  const competitionsByKit = new Map<number, CompetitionRow[]>();
  for (const { kitId, competitionId } of links) {
    const competition = competitionById.get(competitionId);
    if (!competition) throw new Error(`Competition ${competitionId} of Kit ${kitId} does not exist`);
    const list = competitionsByKit.get(kitId) ?? [];
    list.push(competition);
    competitionsByKit.set(kitId, list);
  }
  for (const list of competitionsByKit.values()) list.sort(byNameThenId);
  return {
    kits: kitRows,
    clubs: byId(clubRows),
    seasons: byId(seasonRows),
    brands: byId(brandRows),
    competitionsByKit,
  };
}

const given = (value: unknown): boolean => value !== undefined && value !== null;

/**
 * Query.kits without filters or cursor, and Kit's references; every other field is left to the
 * default resolvers (the catalogue query asks for none of them). A filter or a cursor is refused
 * rather than answered unfiltered.
 */
export function memoryResolvers(catalogue: MemoryCatalogue): Resolvers<object> {
  const { kits: all, clubs: clubById, seasons: seasonById, brands: brandById, competitionsByKit } = catalogue;
  return {
    Query: {
      kits: (_, args) => {
        if ([args.clubId, args.seasonId, args.brandId, args.type, args.after].some(given))
          throw new GraphQLError('the in-memory yoga serves kits(first:) only: no filter, no cursor');
        const limit = pageSize(args.first);
        return connectionFromRows(
          all.slice(0, limit),
          all.length > limit,
          (k) => encodeCursor([k.id]),
          false,
          () => Promise.resolve(all.length),
        );
      },
    },
    Kit: {
      club: (kit) => referenced(clubById.get(kit.clubId) ?? null, `Club ${kit.clubId} of Kit ${kit.id}`),
      season: (kit) => referenced(seasonById.get(kit.seasonId) ?? null, `Season ${kit.seasonId} of Kit ${kit.id}`),
      brand: (kit) => referenced(brandById.get(kit.brandId) ?? null, `Brand ${kit.brandId} of Kit ${kit.id}`),
      competitions: (kit) => competitionsByKit.get(kit.id) ?? [],
    },
  };
}
