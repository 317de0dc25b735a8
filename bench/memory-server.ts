/**
 * The miss path's yardstick (scenario 4y): graphql-yoga on the same SDL as the API (schema/*.graphql,
 * read by src/schema.ts's loadTypeDefs), answering from in-process memory (memory-catalogue.ts: the
 * catalogue read from the bench database once, at start). No Redis, no SQL per request, no DataLoader,
 * no cache plugin: what a miss would cost if reading the entities were free.
 *
 * It serves the data as it was at start: the mixed workload's renames (scenario 6) never reach it.
 * GET /ready answers 200; GET /metrics exports the SQL counter (every statement was sent at start)
 * and declares the response-cache counter with no samples (there is no response cache).
 *
 * Env: PORT, HOST (127.0.0.1), DATABASE_URL.
 * Run: node --import tsx bench/memory-server.ts (the bench starts it; it exits when its stdin closes).
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import { createYoga } from 'graphql-yoga';
import { openDatabase } from '../src/db/client.js';
import { loadTypeDefs } from '../src/schema.js';
import { metricsText, serveChild } from './child-server.js';
import { memoryResolvers, readCatalogue } from './memory-catalogue.js';
import { GRAPHQL_PATH } from './scenarios.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('memory-server: DATABASE_URL is required');
  process.exit(2);
}

// Read once, then the connection is closed: no request can reach the database.
const database = await openDatabase({ url: databaseUrl, maxConnections: 1 });
const catalogue = await readCatalogue(database.db).finally(() => database.close());

const yoga = createYoga({
  schema: makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: memoryResolvers(catalogue) }),
  graphqlEndpoint: GRAPHQL_PATH,
  landingPage: false,
  graphiql: false,
  logging: 'warn',
});

serveChild({
  name: `in-memory yoga (${catalogue.kits.length} kits)`,
  // Every statement was sent at start; no response cache, so no lookups.
  metrics: () => metricsText(database.sql.statements, null),
  handle: (req, res) => void yoga(req, res),
});
