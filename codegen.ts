/**
 * GraphQL Code Generator: resolver types from the SDL in schema/*.graphql, so a resolver whose
 * arguments, parent or result disagree with the schema does not compile. `npm run codegen` writes
 * src/resolvers/generated/types.ts (committed); `npm run codegen:check` fails when it is stale.
 * The generated file has no "do not edit" header: only the `add` plugin writes one, and it is not
 * a dependency of ours (a hook that prepends one would make --check always fail).
 */
import type { CodegenConfig } from '@graphql-codegen/cli';

// Paths in mappers and contextType are relative to the generated file; NodeNext wants `.js`.
const rows = '../../db/schema.js';
const connection = '../connection.js';

const config: CodegenConfig = {
  schema: 'schema/*.graphql',
  generates: {
    'src/resolvers/generated/types.ts': {
      plugins: ['typescript', 'typescript-resolvers'],
      config: {
        useTypeImports: true,
        // The code speaks in string unions (KitTypeValue, ...), as the database rows do.
        enumsAsTypes: true,
        contextType: '../../context.js#Context',
        // Plain functions only: resolvers here are never `{ resolve }` objects, and a callable
        // type lets tests call and spy on them.
        makeResolverTypeCallable: true,
        // SearchResult members carry their __typename (Query.search sets it; __resolveType reads it).
        resolversNonOptionalTypename: { unionMember: true },
        scalars: {
          // Rows carry Dates; the scalar's serialize also takes an ISO string.
          DateTime: { input: 'Date', output: 'Date | string' },
        },
        // What resolvers really hand on: drizzle rows, and connections whose totalCount may be a
        // thunk graphql calls only when the field is asked for. The row types in the generics are
        // in scope because the row mappers import them.
        mappers: {
          Club: `${rows}#ClubRow`,
          Season: `${rows}#SeasonRow`,
          Brand: `${rows}#BrandRow`,
          Competition: `${rows}#CompetitionRow`,
          Kit: `${rows}#KitRow`,
          // The public projection: what the loaders (and the entity cache) hold, never the password hash.
          User: `${rows}#PublicUserRow`,
          CollectionItem: `${rows}#CollectionItemRow`,
          ClubConnection: `${connection}#Connection<ClubRow>`,
          ClubEdge: `${connection}#Edge<ClubRow>`,
          KitConnection: `${connection}#Connection<KitRow>`,
          KitEdge: `${connection}#Edge<KitRow>`,
          CollectionItemConnection: `${connection}#Connection<CollectionItemRow>`,
          CollectionItemEdge: `${connection}#Edge<CollectionItemRow>`,
        },
      },
    },
  },
};

export default config;
