import { AdminMutation, AdminQuery } from './admin.js';
import { Brand, Club, Competition, Kit, SearchResult, Season } from './catalogue-types.js';
import type { Resolvers } from './generated/types.js';
import { connectionFields } from './connection.js';
import { Mutation } from './mutation.js';
import { Query } from './query.js';
import { DateTime } from './scalars.js';
import { CollectionItem, User } from './user-types.js';

/** Assembled when the schema is built (not at import), so a test's spy on a resolver is the one used. */
export const resolvers = (): Resolvers => ({
  Query: { ...Query, ...AdminQuery },
  Mutation: { ...Mutation, ...AdminMutation },
  Club,
  Season,
  Brand,
  Competition,
  Kit,
  SearchResult,
  User,
  CollectionItem,
  KitConnection: connectionFields,
  ClubConnection: connectionFields,
  CollectionItemConnection: connectionFields,
  DateTime,
});
