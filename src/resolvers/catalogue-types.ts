import type { BrandRow, ClubRow, CompetitionRow, KitRow, SeasonRow } from '../db/schema.js';
import type { Loaders } from '../loaders/index.js';
import { parseOptionalId } from './arguments.js';
import { connectionFromIds } from './connection.js';
import type { PageArgs, Resolver } from './types.js';

const present = <T>(values: (T | null | Error)[]): T[] => values.filter((v): v is T => v !== null && !(v instanceof Error));
const kitsOf = (loaders: Loaders) => (ids: number[]) => loaders.kit.loadMany(ids);

export const Club = {
  kits: (async (club, args, ctx) => {
    let ids = (await ctx.loaders.kitIdsByClub.load(club.id)) ?? [];
    const seasonId = parseOptionalId(args.seasonId, 'seasonId');
    if (seasonId !== undefined) {
      // Intersect two cached id lists instead of a query of its own.
      const ofSeason = new Set((await ctx.loaders.kitIdsBySeason.load(seasonId)) ?? []);
      ids = ids.filter((id) => ofSeason.has(id));
    }
    return connectionFromIds(ids, args, kitsOf(ctx.loaders));
  }) satisfies Resolver<ClubRow, PageArgs & { seasonId?: string | null }, unknown>,
  seasons: (async (club, _, ctx) => {
    const ids = (await ctx.loaders.seasonIdsByClub.load(club.id)) ?? [];
    return present(await ctx.loaders.season.loadMany(ids)).sort((a, b) => b.startYear - a.startYear);
  }) satisfies Resolver<ClubRow, object, unknown>,
};

export const Season = {
  kits: (async (season, args, ctx) =>
    connectionFromIds((await ctx.loaders.kitIdsBySeason.load(season.id)) ?? [], args, kitsOf(ctx.loaders))) satisfies Resolver<
    SeasonRow,
    PageArgs,
    unknown
  >,
};

export const Brand = {
  kits: (async (brand, args, ctx) =>
    connectionFromIds((await ctx.loaders.kitIdsByBrand.load(brand.id)) ?? [], args, kitsOf(ctx.loaders))) satisfies Resolver<
    BrandRow,
    PageArgs,
    unknown
  >,
};

export const Competition = {
  kits: (async (competition, args, ctx) =>
    connectionFromIds(
      (await ctx.loaders.kitIdsByCompetition.load(competition.id)) ?? [],
      args,
      kitsOf(ctx.loaders),
    )) satisfies Resolver<CompetitionRow, PageArgs, unknown>,
};

export const Kit = {
  club: ((kit, _, ctx) => ctx.loaders.club.load(kit.clubId)) satisfies Resolver<KitRow, object, unknown>,
  season: ((kit, _, ctx) => ctx.loaders.season.load(kit.seasonId)) satisfies Resolver<KitRow, object, unknown>,
  brand: ((kit, _, ctx) => ctx.loaders.brand.load(kit.brandId)) satisfies Resolver<KitRow, object, unknown>,
  // By name, then id, whichever way the ids arrived (a cached id list keeps no SQL order).
  competitions: (async (kit, _, ctx) =>
    present(await ctx.loaders.competition.loadMany((await ctx.loaders.competitionIdsByKit.load(kit.id)) ?? [])).sort(
      (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id),
    )) satisfies Resolver<KitRow, object, unknown>,
};

export const SearchResult = {
  __resolveType: (value: { __typename: string }) => value.__typename,
};
