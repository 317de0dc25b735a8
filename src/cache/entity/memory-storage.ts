/**
 * Entity storage in process memory for the embedded default: same lease contract as Redis, bounded
 * by entry count (least recently used first), values kept encoded so both backends share one path.
 */
import { LRUCache } from 'lru-cache';
import type { EntityStorage } from './storage.js';

export function createMemoryEntityStorage(options: { maxEntries?: number } = {}): EntityStorage & { size(): number } {
  const values = new LRUCache<string, Buffer>({ max: options.maxEntries ?? 50_000 });
  const leases = new Map<string, { token: string; until: number }>();

  function leaseHolder(key: string, now: number): string | undefined {
    const lease = leases.get(key);
    if (lease && lease.until > now) return lease.token;
    if (lease) leases.delete(key);
    return undefined;
  }

  return {
    async readOrLease(keys, token, leaseMs) {
      const now = Date.now();
      return keys.map((key) => {
        const value = values.get(key);
        if (value) return { kind: 'hit', value };
        if (leaseHolder(key, now) !== undefined) return { kind: 'busy' };
        leases.set(key, { token, until: now + leaseMs });
        return { kind: 'leased' };
      });
    },
    async fill(fills, token) {
      const now = Date.now();
      return fills.map(({ key, value, ttlMs }) => {
        if (leaseHolder(key, now) !== token) return false;
        values.set(key, value, { ttl: ttlMs });
        leases.delete(key);
        return true;
      });
    },
    async invalidate(keys) {
      for (const key of keys) {
        values.delete(key);
        leases.delete(key);
      }
    },
    async clear() {
      const n = values.size;
      values.clear();
      leases.clear();
      return n;
    },
    async entries() {
      values.purgeStale();
      return values.size;
    },
    size: () => {
      values.purgeStale();
      return values.size;
    },
  };
}
