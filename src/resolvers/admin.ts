import { parseId } from './arguments.js';
import type { MutationResolvers, QueryResolvers } from './generated/types.js';

export const AdminQuery = {
  cacheStats: async (_, __, ctx) => ctx.services.cacheAdmin.stats(await ctx.auth.viewer()),
} satisfies QueryResolvers;

export const AdminMutation = {
  purgeCache: async (_, { typename, id }, ctx) =>
    ctx.services.cacheAdmin.purge(await ctx.auth.viewer(), typename, parseId(id, 'id')),
  purgeAllCaches: async (_, __, ctx) => ctx.services.cacheAdmin.purgeAll(await ctx.auth.viewer()),
} satisfies MutationResolvers;
