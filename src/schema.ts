/** The executable schema: SDL from schema/*.graphql joined with the resolvers. */
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { schemaFolder } from './paths.js';
import { resolvers } from './resolvers/index.js';

export function loadTypeDefs(folder = schemaFolder): string[] {
  return readdirSync(folder)
    .filter((f) => f.endsWith('.graphql'))
    .sort()
    .map((f) => readFileSync(path.join(folder, f), 'utf8'));
}

export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: resolvers() });
}
