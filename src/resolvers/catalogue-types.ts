import { andThen } from '../loaders/cached-loader.js';
import type { Loaders } from '../loaders/index.js';
import { parseOptionalId } from './arguments.js';
import { connectionFromIds } from './connection.js';
import type {
  BrandResolvers,
  ClubResolvers,
  CompetitionResolvers,
  KitResolvers,
  SearchResultResolvers,
  SeasonResolvers,
} from './generated/types.js';
import { present, referenced } from './rows.js';

const kitsOf = (loaders: Loaders) => (ids: number[]) => loaders.kit.getMany(ids);

/** By name, then id, whichever way the ids arrived (a cached id list keeps no SQL order). */
const byNameThenId = (a: { name: string; id: number }, b: { name: string; id: number }) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id;

export const Club = {
  kits: async (club, args, ctx) => {
    let ids = (await ctx.loaders.kitIdsByClub.get(club.id)) ?? [];
    const seasonId = parseOptionalId(args.seasonId, 'seasonId');
    if (seasonId !== undefined) {
      // Intersect two cached id lists instead of a query of its own.
      const ofSeason = new Set((await ctx.loaders.kitIdsBySeason.get(seasonId)) ?? []);
      ids = ids.filter((id) => ofSeason.has(id));
    }
    return connectionFromIds(ids, args, kitsOf(ctx.loaders));
  },
  seasons: async (club, _, ctx) => {
    const ids = (await ctx.loaders.seasonIdsByClub.get(club.id)) ?? [];
    return present(await ctx.loaders.season.getMany(ids)).sort((a, b) => b.startYear - a.startYear);
  },
} satisfies ClubResolvers;

export const Season = {
  kits: async (season, args, ctx) =>
    connectionFromIds((await ctx.loaders.kitIdsBySeason.get(season.id)) ?? [], args, kitsOf(ctx.loaders)),
} satisfies SeasonResolvers;

export const Brand = {
  kits: async (brand, args, ctx) =>
    connectionFromIds((await ctx.loaders.kitIdsByBrand.get(brand.id)) ?? [], args, kitsOf(ctx.loaders)),
} satisfies BrandResolvers;

export const Competition = {
  kits: async (competition, args, ctx) =>
    connectionFromIds((await ctx.loaders.kitIdsByCompetition.get(competition.id)) ?? [], args, kitsOf(ctx.loaders)),
} satisfies CompetitionResolvers;

// Without a promise when the rows are in this process (a page of kits asks these for each kit).
export const Kit = {
  club: (kit, _, ctx) =>
    andThen(ctx.loaders.club.get(kit.clubId), (club) => referenced(club, `Club ${kit.clubId} of Kit ${kit.id}`)),
  season: (kit, _, ctx) =>
    andThen(ctx.loaders.season.get(kit.seasonId), (season) =>
      referenced(season, `Season ${kit.seasonId} of Kit ${kit.id}`),
    ),
  brand: (kit, _, ctx) =>
    andThen(ctx.loaders.brand.get(kit.brandId), (brand) => referenced(brand, `Brand ${kit.brandId} of Kit ${kit.id}`)),
  competitions: (kit, _, ctx) =>
    andThen(ctx.loaders.competitionIdsByKit.get(kit.id), (ids) =>
      andThen(ctx.loaders.competition.getMany(ids ?? []), (rows) => present(rows).sort(byNameThenId)),
    ),
} satisfies KitResolvers;

export const SearchResult = {
  __resolveType: (value) => value.__typename,
} satisfies SearchResultResolvers;
