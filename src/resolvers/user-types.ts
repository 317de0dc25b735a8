import { andThen } from '../loaders/cached-loader.js';
import { connectionFromIds } from './connection.js';
import type { CollectionItemResolvers, UserResolvers } from './generated/types.js';
import { referenced } from './rows.js';

export const User = {
  // Only the user themself reaches a User (through `me` or `login`), so the collection is theirs.
  collection: async (user, args, ctx) =>
    connectionFromIds(
      (await ctx.loaders.collectionItemIdsByUser.get(user.id)) ?? [],
      args,
      (ids) => ctx.loaders.collectionItem.getMany(ids),
      'desc',
    ),
} satisfies UserResolvers;

export const CollectionItem = {
  kit: (item, _, ctx) =>
    andThen(ctx.loaders.kit.get(item.kitId), (kit) =>
      referenced(kit, `Kit ${item.kitId} of CollectionItem ${item.id}`),
    ),
} satisfies CollectionItemResolvers;
