/**
 * The entity cache's in-process layer (L1): decoded values by their Redis key, in front of Redis,
 * bounded by bytes (the encoded size, twice, for the decoded objects), least recently used first.
 * A hit costs no Redis round trip and no decoding. Values are shared by every request that reads
 * them: nothing may change a row it was handed (none of the resolvers does).
 *
 * It is only as good as its coherence: read-through.ts uses it only while the drop channel is live,
 * fills it only with what was read since the last drop heard, and drops what every write drops.
 * A group's values are dropped with their group (a list's pages, by the version key).
 */
import { LRUCache } from 'lru-cache';

type Held = { value: unknown; group: string | null };

export type LocalLayer = {
  get(key: string): { value: unknown } | undefined;
  set(key: string, value: unknown, bytes: number, ttlMs: number, group: string | null): void;
  drop(keys: readonly string[], groups: readonly string[]): void;
  clear(): void;
  readonly size: number;
};

export function createLocalLayer(options: { maxBytes: number; maxTtlMs?: number }): LocalLayer {
  const byGroup = new Map<string, Set<string>>();
  const values = new LRUCache<string, Held>({
    maxSize: options.maxBytes,
    sizeCalculation: () => 1, // replaced per entry by `size` in set()
    dispose: (held, key) => {
      if (held.group === null) return;
      const members = byGroup.get(held.group);
      members?.delete(key);
      if (members?.size === 0) byGroup.delete(held.group);
    },
  });
  const maxTtlMs = options.maxTtlMs ?? 60_000;

  return {
    get(key) {
      const held = values.get(key);
      return held && { value: held.value };
    },
    set(key, value, bytes, ttlMs, group) {
      const size = Math.max(64, bytes * 2);
      // A TTL below 1 ms would mean "forever" to the LRU; such a value is not kept at all.
      if (size > options.maxBytes || ttlMs < 1) return;
      values.set(key, { value, group }, { size, ttl: Math.min(ttlMs, maxTtlMs) });
      if (group !== null) {
        const members = byGroup.get(group) ?? new Set<string>();
        byGroup.set(group, members.add(key));
      }
    },
    drop(keys, groups) {
      for (const key of keys) values.delete(key);
      for (const group of groups) for (const key of [...(byGroup.get(group) ?? [])]) values.delete(key);
    },
    clear() {
      values.clear();
      byGroup.clear();
    },
    get size() {
      return values.size;
    },
  };
}
