/**
 * Registrations in Redis, one string key per hash (`<prefix>pq:<hash>`, a single slot: fine on a
 * Cluster), written with NX and a TTL: the first verified document stays until it expires.
 */
import type { RedisClient } from '../cache/redis/client.js';
import type { PersistedStore } from './store.js';

export type RedisPersistedStoreOptions = {
  redis: RedisClient;
  prefix: string;
  ttlSeconds: number;
  /** Runs each command (e.g. through the circuit breaker). Default: as is. */
  run?<T>(call: () => Promise<T>): Promise<T>;
};

export function createRedisPersistedStore(options: RedisPersistedStoreOptions): PersistedStore {
  const { redis, prefix, ttlSeconds } = options;
  const run = options.run ?? (<T>(call: () => Promise<T>) => call());
  const key = (hash: string) => `${prefix}pq:${hash}`;
  return {
    get: (hash) => run(() => redis.get(key(hash))),
    async register(hash, document) {
      await run(() => redis.set(key(hash), document, 'EX', ttlSeconds, 'NX'));
    },
  };
}
