/**
 * The in-memory response store for the embedded default (one process, no Redis). Same contract and
 * same guard as the Redis store: a process-wide sequence stands in for Redis' per-bucket counter.
 * Bounded: least recently used entries go first once `maxEntries` is reached.
 */
import { LRUCache } from 'lru-cache';
import { INVALIDATION_MEMORY_MS, type Lookup, type ResponseStore, type StoreOutcome } from './store.js';

type Entry = { value: Buffer; tags: readonly string[] };

export function createMemoryResponseStore(options: { maxEntries?: number } = {}): ResponseStore & { size(): number } {
  const index = new Map<string, Set<string>>();
  const entries = new LRUCache<string, Entry>({
    max: options.maxEntries ?? 10_000,
    ttlAutopurge: false,
    // Whichever way an entry leaves (expiry, eviction, invalidation), its index memberships go too.
    dispose: (entry, key) => {
      for (const tag of entry.tags) {
        const keys = index.get(tag);
        keys?.delete(key);
        if (keys?.size === 0) index.delete(tag);
      }
    },
  });
  let sequence = 0;
  let cleared = { seq: 0, until: 0 };
  const invalidatedAt = new Map<string, { seq: number; until: number }>();

  function forgetOldInvalidations(now: number) {
    for (const [tag, mark] of invalidatedAt) if (mark.until <= now) invalidatedAt.delete(tag);
  }

  return {
    async lookup(key, forLayer, leaseMs): Promise<Lookup> {
      const entry = entries.get(key);
      const found: Lookup = { value: entry?.value ?? null, generation: String(sequence) };
      if (!entry && leaseMs) found.lease = 'acquired'; // one process: nobody to share a lease with
      if (!forLayer) return found;
      return { ...found, tags: entry?.tags ?? null, ttlMs: entry ? entries.getRemainingTTL(key) : null };
    },
    async lease() {
      return 'acquired' as const;
    },
    async release() {},
    async store(key, value, tags, ttlMs, generation): Promise<StoreOutcome> {
      const seen = Number(generation);
      const now = Date.now();
      if (cleared.until > now && cleared.seq > seen) return 'stale';
      for (const tag of tags) {
        const mark = invalidatedAt.get(tag);
        if (mark && mark.until > now && mark.seq > seen) return 'stale';
      }
      entries.set(key, { value: Buffer.from(value), tags: [...tags] }, { ttl: ttlMs });
      for (const tag of tags) {
        let keys = index.get(tag);
        if (!keys) index.set(tag, (keys = new Set()));
        keys.add(key);
      }
      return 'stored';
    },
    async invalidate(tags) {
      const now = Date.now();
      sequence += 1;
      for (const tag of tags) {
        invalidatedAt.set(tag, { seq: sequence, until: now + INVALIDATION_MEMORY_MS });
        for (const key of [...(index.get(tag) ?? [])]) entries.delete(key);
      }
      if (invalidatedAt.size > 10_000) forgetOldInvalidations(now);
    },
    async clear() {
      sequence += 1;
      cleared = { seq: sequence, until: Date.now() + INVALIDATION_MEMORY_MS };
      entries.clear();
      index.clear();
    },
    async stats() {
      entries.purgeStale();
      let bytes = 0;
      for (const entry of entries.values()) bytes += entry.value.length;
      return { entries: entries.size, bytes };
    },
    size: () => {
      entries.purgeStale();
      return entries.size;
    },
  };
}
