import { connectionFromIds } from './connection.js';
import type { CollectionItemResolvers, UserResolvers } from './generated/types.js';
import { referenced } from './rows.js';

export const User = {
  // Only the user themself reaches a User (through `me` or `login`), so the collection is theirs.
  collection: async (user, args, ctx) =>
    connectionFromIds(
      (await ctx.loaders.collectionItemIdsByUser.load(user.id)) ?? [],
      args,
      (ids) => ctx.loaders.collectionItem.loadMany(ids),
      'desc',
    ),
} satisfies UserResolvers;

export const CollectionItem = {
  kit: async (item, _, ctx) =>
    referenced(await ctx.loaders.kit.load(item.kitId), `Kit ${item.kitId} of CollectionItem ${item.id}`),
} satisfies CollectionItemResolvers;
