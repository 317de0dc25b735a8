import type { CollectionItemRow, UserRow } from '../db/schema.js';
import { connectionFromIds } from './connection.js';
import type { PageArgs, Resolver } from './types.js';

export const User = {
  // Only the user themself reaches a User (through `me` or `login`), so the collection is theirs.
  collection: (async (user, args, ctx) =>
    connectionFromIds(
      (await ctx.loaders.collectionItemIdsByUser.load(user.id)) ?? [],
      args,
      (ids) => ctx.loaders.collectionItem.loadMany(ids),
      'desc',
    )) satisfies Resolver<UserRow, PageArgs, unknown>,
};

export const CollectionItem = {
  kit: ((item, _, ctx) => ctx.loaders.kit.load(item.kitId)) satisfies Resolver<CollectionItemRow, object, unknown>,
};
