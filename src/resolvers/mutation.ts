import { parseId, parseOptionalId } from './arguments.js';
import type { MutationResolvers } from './generated/types.js';

const ids = (values: readonly unknown[] | null | undefined, field: string) =>
  values === null || values === undefined ? undefined : values.map((v, i) => parseId(v, `${field}.${i}`));

// The services validate inputs themselves (they take `unknown`); here only ids are parsed.
export const Mutation = {
  login: (_, { username, password }, ctx) => ctx.services.sessions.login(username, password),
  logout: async (_, __, ctx) => ctx.services.sessions.logout(await ctx.auth.viewer()),

  createClub: async (_, { input }, ctx) => ctx.services.catalogue.createClub(await ctx.auth.viewer(), input),
  updateClub: async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.catalogue.updateClub(await ctx.auth.viewer(), parseId(id, 'input.id'), rest),
  deleteClub: async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteClub(await ctx.auth.viewer(), parseId(id, 'id'))),

  createSeason: async (_, { input }, ctx) => ctx.services.catalogue.createSeason(await ctx.auth.viewer(), input),
  updateSeason: async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.catalogue.updateSeason(await ctx.auth.viewer(), parseId(id, 'input.id'), rest),
  deleteSeason: async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteSeason(await ctx.auth.viewer(), parseId(id, 'id'))),

  createBrand: async (_, { input }, ctx) => ctx.services.catalogue.createBrand(await ctx.auth.viewer(), input),
  updateBrand: async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.catalogue.updateBrand(await ctx.auth.viewer(), parseId(id, 'input.id'), rest),
  deleteBrand: async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteBrand(await ctx.auth.viewer(), parseId(id, 'id'))),

  createCompetition: async (_, { input }, ctx) =>
    ctx.services.catalogue.createCompetition(await ctx.auth.viewer(), input),
  updateCompetition: async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.catalogue.updateCompetition(await ctx.auth.viewer(), parseId(id, 'input.id'), rest),
  deleteCompetition: async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteCompetition(await ctx.auth.viewer(), parseId(id, 'id'))),

  createKit: async (_, { input }, ctx) => {
    const { clubId, seasonId, brandId, competitionIds, ...rest } = input;
    const viewer = await ctx.auth.viewer();
    const refs = {
      clubId: parseId(clubId, 'input.clubId'),
      seasonId: parseId(seasonId, 'input.seasonId'),
      brandId: parseId(brandId, 'input.brandId'),
      competitionIds: ids(competitionIds, 'input.competitionIds') ?? [],
    };
    return ctx.services.catalogue.createKit(viewer, refs, rest);
  },
  updateKit: async (_, { input }, ctx) => {
    const { id, clubId, seasonId, brandId, competitionIds, ...rest } = input;
    const viewer = await ctx.auth.viewer();
    const refs = {
      clubId: parseOptionalId(clubId, 'input.clubId'),
      seasonId: parseOptionalId(seasonId, 'input.seasonId'),
      brandId: parseOptionalId(brandId, 'input.brandId'),
      competitionIds: ids(competitionIds, 'input.competitionIds'),
    };
    return ctx.services.catalogue.updateKit(viewer, parseId(id, 'input.id'), refs, rest);
  },
  deleteKit: async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteKit(await ctx.auth.viewer(), parseId(id, 'id'))),

  addToCollection: async (_, { input: { kitId, ...rest } }, ctx) =>
    ctx.services.collection.add(await ctx.auth.viewer(), parseId(kitId, 'input.kitId'), rest),
  updateCollectionItem: async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.collection.update(await ctx.auth.viewer(), parseId(id, 'input.id'), rest),
  removeFromCollection: async (_, { id }, ctx) =>
    String(await ctx.services.collection.remove(await ctx.auth.viewer(), parseId(id, 'id'))),
} satisfies MutationResolvers;
