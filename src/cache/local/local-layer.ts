/**
 * An in-process layer (L1) in front of Redis: values by their key, bounded by bytes (the size the
 * caller states), least recently used first, each in any number of groups (an entity list's pages
 * under the list's version key; a response under each of its tags), so that a drop by group
 * reaches every value in it. Values are shared by every request that reads them: nothing may change
 * one it was handed.
 *
 * It is only as good as its coherence: its users read it only while the drop channel is live
 * (drop-channel.ts), keep only what was read since the last drop heard, and drop what every write
 * drops.
 */
import { LRUCache } from 'lru-cache';

type Held<V> = { value: V; groups: readonly string[] };

export type LocalLayer<V = unknown> = {
  get(key: string): { value: V } | undefined;
  /** Keeps `value` for `ttlMs` (at most the layer's cap); `size` is what it costs in bytes. */
  set(key: string, value: V, size: number, ttlMs: number, groups: readonly string[]): void;
  drop(keys: readonly string[], groups: readonly string[]): void;
  clear(): void;
  readonly size: number;
};

export function createLocalLayer<V = unknown>(options: { maxBytes: number; maxTtlMs?: number }): LocalLayer<V> {
  const byGroup = new Map<string, Set<string>>();
  const values = new LRUCache<string, Held<V>>({
    maxSize: options.maxBytes,
    sizeCalculation: () => 1, // replaced per entry by `size` in set()
    dispose: (held, key) => {
      for (const group of held.groups) {
        const members = byGroup.get(group);
        members?.delete(key);
        if (members?.size === 0) byGroup.delete(group);
      }
    },
  });
  const maxTtlMs = options.maxTtlMs ?? 60_000;

  return {
    get(key) {
      const held = values.get(key);
      return held && { value: held.value };
    },
    set(key, value, size, ttlMs, groups) {
      const bytes = Math.max(64, Math.ceil(size));
      // A TTL below 1 ms would mean "forever" to the LRU; such a value is not kept at all.
      if (bytes > options.maxBytes || ttlMs < 1) return;
      values.set(key, { value, groups }, { size: bytes, ttl: Math.min(ttlMs, maxTtlMs) });
      // Indexed after the set: replacing a value disposes of the old one's memberships first.
      for (const group of groups) {
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
