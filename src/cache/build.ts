/**
 * Builds the cache levels the config asks for and says which in one line for the start-up log.
 * The foundation has none yet: loaders read the database directly and writes invalidate nothing.
 */
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config.js';
import type { AppContext } from '../context.js';
import type { Database } from '../db/client.js';
import type { Logger } from '../observability/logger.js';
import { noInvalidation, type Invalidator } from '../services/changes.js';
import { noEntityCache, type EntityCache } from './entity/entity-cache.js';

export type Caches = {
  entityCache: EntityCache;
  invalidator: Invalidator;
  plugins: Plugin<AppContext>[];
  description: string;
  close(): Promise<void>;
};

export async function buildCaches(_config: Config, _logger: Logger, _database: Database): Promise<Caches> {
  return {
    entityCache: noEntityCache,
    invalidator: noInvalidation,
    plugins: [],
    description: 'caches: none',
    close: async () => {},
  };
}
