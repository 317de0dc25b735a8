import { parseId } from './arguments.js';
import type { Resolver } from './types.js';

type Root = Record<string, never>;

export const AdminQuery = {
  cacheStats: (async (_, __, ctx) => ctx.services.cacheAdmin.stats(await ctx.auth.viewer())) satisfies Resolver<Root, object, unknown>,
};

export const AdminMutation = {
  purgeCache: (async (_, { typename, id }, ctx) =>
    ctx.services.cacheAdmin.purge(await ctx.auth.viewer(), typename, parseId(id, 'id'))) satisfies Resolver<
    Root,
    { typename: string; id: string },
    unknown
  >,
  purgeAllCaches: (async (_, __, ctx) => ctx.services.cacheAdmin.purgeAll(await ctx.auth.viewer())) satisfies Resolver<Root, object, unknown>,
};
