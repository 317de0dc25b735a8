import { Brand, Club, Competition, Kit, SearchResult, Season } from './catalogue-types.js';
import { Mutation } from './mutation.js';
import { Query } from './query.js';
import { DateTime } from './scalars.js';
import { CollectionItem, User } from './user-types.js';

export const resolvers = { Query, Mutation, Club, Season, Brand, Competition, Kit, SearchResult, User, CollectionItem, DateTime };
