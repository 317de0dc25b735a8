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

const kitsOf = (loaders: Loaders) => (ids: number[]) => loaders.kit.loadMany(ids);

export const Club = {
  kits: async (club, args, ctx) => {
    let ids = (await ctx.loaders.kitIdsByClub.load(club.id)) ?? [];
    const seasonId = parseOptionalId(args.seasonId, 'seasonId');
    if (seasonId !== undefined) {
      // Intersect two cached id lists instead of a query of its own.
      const ofSeason = new Set((await ctx.loaders.kitIdsBySeason.load(seasonId)) ?? []);
      ids = ids.filter((id) => ofSeason.has(id));
    }
    return connectionFromIds(ids, args, kitsOf(ctx.loaders));
  },
  seasons: async (club, _, ctx) => {
    const ids = (await ctx.loaders.seasonIdsByClub.load(club.id)) ?? [];
    return present(await ctx.loaders.season.loadMany(ids)).sort((a, b) => b.startYear - a.startYear);
  },
} satisfies ClubResolvers;

export const Season = {
  kits: async (season, args, ctx) =>
    connectionFromIds((await ctx.loaders.kitIdsBySeason.load(season.id)) ?? [], args, kitsOf(ctx.loaders)),
} satisfies SeasonResolvers;

export const Brand = {
  kits: async (brand, args, ctx) =>
    connectionFromIds((await ctx.loaders.kitIdsByBrand.load(brand.id)) ?? [], args, kitsOf(ctx.loaders)),
} satisfies BrandResolvers;

export const Competition = {
  kits: async (competition, args, ctx) =>
    connectionFromIds((await ctx.loaders.kitIdsByCompetition.load(competition.id)) ?? [], args, kitsOf(ctx.loaders)),
} satisfies CompetitionResolvers;

export const Kit = {
  club: async (kit, _, ctx) =>
    referenced(await ctx.loaders.club.load(kit.clubId), `Club ${kit.clubId} of Kit ${kit.id}`),
  season: async (kit, _, ctx) =>
    referenced(await ctx.loaders.season.load(kit.seasonId), `Season ${kit.seasonId} of Kit ${kit.id}`),
  brand: async (kit, _, ctx) =>
    referenced(await ctx.loaders.brand.load(kit.brandId), `Brand ${kit.brandId} of Kit ${kit.id}`),
  // By name, then id, whichever way the ids arrived (a cached id list keeps no SQL order).
  competitions: async (kit, _, ctx) =>
    present(await ctx.loaders.competition.loadMany((await ctx.loaders.competitionIdsByKit.load(kit.id)) ?? [])).sort(
      (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id - b.id),
    ),
} satisfies KitResolvers;

export const SearchResult = {
  __resolveType: (value) => value.__typename,
} satisfies SearchResultResolvers;
