/**
 * Cache administration, domain-free: statistics per level and purges. The GraphQL admin fields and
 * the `npm run cache` command sit on top of this.
 */
import { isCluster, type RedisClient } from './redis/client.js';
import { withTimeout } from '../timeout.js';
import type { CacheCounters } from './counters.js';
import type { EdgePurge } from './edge/purge-twice.js';
import type { EntityCache, EntityKey } from './entity/entity-cache.js';
import type { ResponseStore } from './response/index.js';

export type LevelStats = {
  enabled: boolean;
  backend: 'redis' | 'memory' | 'off';
  /** Live entries; null where the backend cannot count them without scanning. */
  entries: number | null;
  bytes: number | null;
  /** Since this server started. */
  hits: number;
  misses: number;
  hitRate: number | null;
  writes: number;
  refusedWrites: number;
  invalidations: number;
};

export type CacheStats = {
  response: LevelStats;
  entity: LevelStats;
  redis: { configured: boolean; reachable: boolean; usedMemoryBytes: number | null; errors: number };
};

export interface CacheAdmin {
  stats(): Promise<CacheStats>;
  purge(tags: readonly string[], keys: readonly EntityKey[]): Promise<void>;
  purgeAll(): Promise<{ entityValues: number }>;
}

const rate = (hits: number, misses: number) => (hits + misses ? hits / (hits + misses) : null);

export function createCacheAdmin(deps: {
  counters: CacheCounters;
  redis: RedisClient | null;
  responseStore: ResponseStore | null;
  entityCache: EntityCache;
  timeoutMs: number;
  /** The edge in front, purged after the response store as invalidations do; null: none. */
  edge?: EdgePurge | null;
}): CacheAdmin {
  const { counters, redis, responseStore, entityCache } = deps;
  const backend = redis ? 'redis' : 'memory';

  async function redisInfo() {
    if (!redis) return { reachable: false, usedMemoryBytes: null };
    try {
      // On a Cluster, the memory of every master (a keyless INFO would ask one node at random).
      const nodes = isCluster(redis) ? redis.nodes('master') : [redis];
      const infos = await withTimeout(Promise.all(nodes.map((node) => node.info('memory'))), deps.timeoutMs);
      const used = infos.map((info) => /used_memory:(\d+)/.exec(info)?.[1]);
      if (used.some((u) => u === undefined)) return { reachable: true, usedMemoryBytes: null };
      return { reachable: true, usedMemoryBytes: used.reduce((sum, u) => sum + Number(u), 0) };
    } catch {
      return { reachable: false, usedMemoryBytes: null };
    }
  }

  return {
    async stats() {
      const [response, entityEntries, info] = await Promise.all([
        responseStore?.stats().catch(() => null) ?? null,
        entityCache.shared ? entityCache.entries().catch(() => null) : Promise.resolve(null),
        redisInfo(),
      ]);
      const rHits = counters.get('response_hit');
      const rMisses = counters.get('response_miss');
      const eHits = counters.get('entity_hit') + counters.get('entity_negative_hit');
      const eMisses = counters.get('entity_miss');
      return {
        response: {
          enabled: responseStore !== null,
          backend: responseStore ? backend : 'off',
          entries: response?.entries ?? null,
          bytes: response?.bytes ?? null,
          hits: rHits,
          misses: rMisses,
          hitRate: rate(rHits, rMisses),
          writes: counters.get('response_write'),
          refusedWrites: counters.get('response_write_refused'),
          invalidations: counters.get('response_invalidation'),
        },
        entity: {
          enabled: entityCache.shared,
          backend: entityCache.shared ? backend : 'off',
          entries: entityEntries,
          bytes: null,
          hits: eHits,
          misses: eMisses,
          hitRate: rate(eHits, eMisses),
          writes: counters.get('entity_fill'),
          refusedWrites: counters.get('entity_fill_refused'),
          invalidations: counters.get('entity_invalidation'),
        },
        redis: { configured: redis !== null, ...info, errors: counters.get('redis_error') },
      };
    },
    async purge(tags, keys) {
      await entityCache.invalidate(keys);
      await responseStore?.invalidate(tags);
      await deps.edge?.purge(tags);
    },
    async purgeAll() {
      const entityValues = await entityCache.clear();
      await responseStore?.clear();
      await deps.edge?.purgeAll();
      return { entityValues };
    },
  };
}

const offLevel: LevelStats = {
  enabled: false,
  backend: 'off',
  entries: null,
  bytes: null,
  hits: 0,
  misses: 0,
  hitRate: null,
  writes: 0,
  refusedWrites: 0,
  invalidations: 0,
};

/** For an app built without caches. */
export const noCacheAdmin: CacheAdmin = {
  stats: async () => ({
    response: offLevel,
    entity: offLevel,
    redis: { configured: false, reachable: false, usedMemoryBytes: null, errors: 0 },
  }),
  purge: async () => {},
  purgeAll: async () => ({ entityValues: 0 }),
};
