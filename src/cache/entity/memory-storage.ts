/**
 * Entity storage in process memory for the embedded default: same lease contract as Redis, bounded
 * by entry count (least recently used first), values kept encoded so both backends share one path.
 */
import { LRUCache } from 'lru-cache';
import type { EntityStorage, ReadOutcome } from './storage.js';

export function createMemoryEntityStorage(options: { maxEntries?: number } = {}): EntityStorage & { size(): number } {
  const values = new LRUCache<string, Buffer>({ max: options.maxEntries ?? 50_000 });
  const leases = new Map<string, { token: string; until: number }>();
  /** Group versions; a group's values live in `values` with the version's bytes in front, as on Redis. */
  const versions = new Map<string, { version: string; until: number }>();

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
    async readGroup(group, keys, token, leaseMs, versionTtlMs) {
      const now = Date.now();
      let held = versions.get(group);
      if (!held || held.until <= now) versions.set(group, (held = { version: token, until: now + versionTtlMs }));
      const prefix = Buffer.from(held.version);
      const outcomes = keys.map((key): ReadOutcome => {
        const value = values.get(key);
        if (value && value.subarray(0, prefix.length).equals(prefix))
          return { kind: 'hit', value: value.subarray(prefix.length) };
        if (leaseHolder(key, now) !== undefined) return { kind: 'busy' };
        leases.set(key, { token, until: now + leaseMs });
        return { kind: 'leased' };
      });
      return { version: held.version, outcomes };
    },
    async fillGroup(group, version, fills, token) {
      const now = Date.now();
      const held = versions.get(group);
      const current = held !== undefined && held.until > now && held.version === version;
      return fills.map(({ key, value, ttlMs }) => {
        if (leaseHolder(key, now) !== token) return false;
        leases.delete(key);
        if (!current) return false;
        values.set(key, Buffer.concat([Buffer.from(version), value]), { ttl: ttlMs });
        held.until = Math.max(held.until, now + ttlMs);
        return true;
      });
    },
    async invalidateGroups(groups) {
      for (const group of groups) versions.delete(group);
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
      versions.clear();
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
