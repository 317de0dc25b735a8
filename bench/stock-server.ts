/**
 * The stock configuration, for comparison: our app (createApp from src/app.ts) with our response
 * cache and entity cache off (noEntityCache, noInvalidation) and, instead, the off-the-shelf
 * `useResponseCache` from @graphql-yoga/plugin-response-cache on `createRedisCache({ redis })` from
 * @envelop/response-cache-redis, `session: () => null`, defaults otherwise; mounted on node:http.
 *
 * Two bench-only additions that do not change what a request does:
 *  - the ioredis client gets `keyPrefix` (REDIS_KEY_PREFIX), because the stock store writes
 *    unprefixed keys (`Kit`, `Kit:12`, `operations:…`) and the bench must be able to delete
 *    exactly its own keys from a shared Redis;
 *  - GET /metrics exports the same counters our server does (SQL statements from the database's
 *    statement counter, response-cache hit/miss from the store's get), and GET /ready answers 200.
 *
 * Env: PORT, HOST (127.0.0.1), DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX, LOG_LEVEL.
 * Run: node --import tsx bench/stock-server.ts (the bench starts it; it exits when its stdin closes).
 */
import { createRedisCache } from '@envelop/response-cache-redis';
import { useResponseCache, type Cache } from '@graphql-yoga/plugin-response-cache';
import type { Plugin } from 'graphql-yoga';
import { Redis } from 'ioredis';
import { createApp } from '../src/app.js';
import { noEntityCache } from '../src/cache/entity/entity-cache.js';
import type { AppContext } from '../src/context.js';
import { openDatabase } from '../src/db/client.js';
import { createLogger } from '../src/observability/logger.js';
import { noInvalidation } from '../src/domain/changes.js';
import { metricsText, serveChild } from './child-server.js';

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  console.error('stock-server: DATABASE_URL is required');
  process.exit(2);
}

const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', false);
// Its scenario is all hits: a small pool leaves the bench's shared Postgres (100 connections by
// default, kept once opened) to the servers that need them.
const database = await openDatabase({ url: databaseUrl, maxConnections: 3 });
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'kvbench:stock:',
});

let hits = 0;
let misses = 0;
const stock = createRedisCache({ redis }) as unknown as Cache;
const cache: Cache = {
  set: (...args) => stock.set(...args),
  invalidate: (...args) => stock.invalidate(...args),
  get: (key) =>
    Promise.resolve(stock.get(key)).then((value) => {
      if (value) hits += 1;
      else misses += 1;
      return value;
    }),
};

const app = createApp({
  database,
  logger,
  entityCache: noEntityCache,
  invalidator: noInvalidation,
  plugins: [useResponseCache({ session: () => null, cache }) as unknown as Plugin<AppContext>],
});

serveChild({
  name: 'stock server',
  metrics: () => metricsText(database.sql.statements, { hits, misses }),
  handle: (req, res) => void app(req, res),
  close: async () => {
    await redis.quit().catch(() => redis.disconnect());
    await database.close().catch(() => {});
  },
});
