import { parseId, parseOptionalId } from './arguments.js';
import type { Resolver } from './types.js';

type Root = Record<string, never>;
type Input<T = Record<string, unknown>> = { input: T & { id?: string } };
type IdArgs = { id: string };

const ids = (values: readonly unknown[] | null | undefined, field: string) =>
  values === null || values === undefined ? undefined : values.map((v, i) => parseId(v, `${field}.${i}`));

export const Mutation = {
  login: ((_, { username, password }, ctx) => ctx.services.sessions.login(username, password)) satisfies Resolver<
    Root,
    { username: string; password: string },
    unknown
  >,
  logout: (async (_, __, ctx) => ctx.services.sessions.logout(await ctx.auth.viewer())) satisfies Resolver<Root, object, unknown>,

  createClub: (async (_, { input }, ctx) => ctx.services.catalogue.createClub(await ctx.auth.viewer(), input)) satisfies Resolver<Root, Input, unknown>,
  updateClub: (async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.catalogue.updateClub(await ctx.auth.viewer(), parseId(id, 'input.id'), rest)) satisfies Resolver<Root, Input, unknown>,
  deleteClub: (async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteClub(await ctx.auth.viewer(), parseId(id, 'id')))) satisfies Resolver<Root, IdArgs, unknown>,

  createSeason: (async (_, { input }, ctx) => ctx.services.catalogue.createSeason(await ctx.auth.viewer(), input)) satisfies Resolver<Root, Input, unknown>,
  updateSeason: (async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.catalogue.updateSeason(await ctx.auth.viewer(), parseId(id, 'input.id'), rest)) satisfies Resolver<Root, Input, unknown>,
  deleteSeason: (async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteSeason(await ctx.auth.viewer(), parseId(id, 'id')))) satisfies Resolver<Root, IdArgs, unknown>,

  createBrand: (async (_, { input }, ctx) => ctx.services.catalogue.createBrand(await ctx.auth.viewer(), input)) satisfies Resolver<Root, Input, unknown>,
  updateBrand: (async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.catalogue.updateBrand(await ctx.auth.viewer(), parseId(id, 'input.id'), rest)) satisfies Resolver<Root, Input, unknown>,
  deleteBrand: (async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteBrand(await ctx.auth.viewer(), parseId(id, 'id')))) satisfies Resolver<Root, IdArgs, unknown>,

  createCompetition: (async (_, { input }, ctx) =>
    ctx.services.catalogue.createCompetition(await ctx.auth.viewer(), input)) satisfies Resolver<Root, Input, unknown>,
  updateCompetition: (async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.catalogue.updateCompetition(await ctx.auth.viewer(), parseId(id, 'input.id'), rest)) satisfies Resolver<Root, Input, unknown>,
  deleteCompetition: (async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteCompetition(await ctx.auth.viewer(), parseId(id, 'id')))) satisfies Resolver<Root, IdArgs, unknown>,

  createKit: (async (_, { input }, ctx) => {
    const { clubId, seasonId, brandId, competitionIds, ...rest } = input;
    const viewer = await ctx.auth.viewer();
    const refs = {
      clubId: parseId(clubId, 'input.clubId'),
      seasonId: parseId(seasonId, 'input.seasonId'),
      brandId: parseId(brandId, 'input.brandId'),
      competitionIds: ids(competitionIds as unknown[] | null, 'input.competitionIds') ?? [],
    };
    return ctx.services.catalogue.createKit(viewer, refs, rest);
  }) satisfies Resolver<Root, Input, unknown>,
  updateKit: (async (_, { input }, ctx) => {
    const { id, clubId, seasonId, brandId, competitionIds, ...rest } = input;
    const viewer = await ctx.auth.viewer();
    const refs = {
      clubId: parseOptionalId(clubId, 'input.clubId'),
      seasonId: parseOptionalId(seasonId, 'input.seasonId'),
      brandId: parseOptionalId(brandId, 'input.brandId'),
      competitionIds: ids(competitionIds as unknown[] | null, 'input.competitionIds'),
    };
    return ctx.services.catalogue.updateKit(viewer, parseId(id, 'input.id'), refs, rest);
  }) satisfies Resolver<Root, Input, unknown>,
  deleteKit: (async (_, { id }, ctx) =>
    String(await ctx.services.catalogue.deleteKit(await ctx.auth.viewer(), parseId(id, 'id')))) satisfies Resolver<Root, IdArgs, unknown>,

  addToCollection: (async (_, { input: { kitId, ...rest } }, ctx) =>
    ctx.services.collection.add(await ctx.auth.viewer(), parseId(kitId, 'input.kitId'), rest)) satisfies Resolver<
    Root,
    Input<{ kitId?: string }>,
    unknown
  >,
  updateCollectionItem: (async (_, { input: { id, ...rest } }, ctx) =>
    ctx.services.collection.update(await ctx.auth.viewer(), parseId(id, 'input.id'), rest)) satisfies Resolver<Root, Input, unknown>,
  removeFromCollection: (async (_, { id }, ctx) =>
    String(await ctx.services.collection.remove(await ctx.auth.viewer(), parseId(id, 'id')))) satisfies Resolver<Root, IdArgs, unknown>,
};
