/** Resolver signatures, typed by parent and arguments. */
import type { GraphQLResolveInfo } from 'graphql';
import type { Context } from '../context.js';

export type Resolver<Parent, Args, Result> = (
  parent: Parent,
  args: Args,
  context: Context,
  info: GraphQLResolveInfo,
) => Result | Promise<Result>;

export type PageArgs = { first?: number | null; after?: string | null };
