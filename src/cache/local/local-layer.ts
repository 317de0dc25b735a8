/**
 * An in-process layer (L1) in front of Redis: values by their key, bounded by bytes (the size the
 * caller states), least recently used first, each in any number of groups (an entity list's pages
 * under the list's version key; a response under each of its tags), so that a drop by group
 * reaches every value in it. Values are shared by every request that reads them: nothing may change
 * one it was handed.
 *
 * It is only as good as its coherence: its users read it only while the drop channel is live
 * (drop-channel.ts), keep only what was read since the last drop heard, and drop what every write
 * drops. A value is kept with the drop marks of its key and groups (drop-marks.ts), which the
 * channel's own thread moves the moment a drop arrives, and is read only while they have not
 * moved: a drop takes effect here before this thread has run a line of it (`drop` frees it later).
 */
import { LRUCache } from 'lru-cache';
import type { DropMarks, Stamp } from './drop-marks.js';

type Held<V> = { value: V; groups: readonly string[]; stamp: Stamp };

export type LocalLayer<V = unknown> = {
  get(key: string): { value: V } | undefined;
  /**
   * Keeps `value` for `ttlMs` (at most the layer's cap); `size` is what it costs in bytes. Not kept
   * when a drop of its key or groups was heard or made since `since` (the drop channel's epoch when
   * its read began), or one the marks no longer remember (drop-marks.ts).
   */
  set(key: string, value: V, size: number, ttlMs: number, groups: readonly string[], since: number): void;
  drop(keys: readonly string[], groups: readonly string[]): void;
  clear(): void;
  readonly size: number;
};

export function createLocalLayer<V = unknown>(options: {
  /** Its name on the drop channel: drops of this layer name it. */
  name: string;
  marks: DropMarks;
  maxBytes: number;
  maxTtlMs?: number;
}): LocalLayer<V> {
  const { name, marks } = options;
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
      if (!held) return undefined;
      if (marks.holds(held.stamp)) return { value: held.value };
      values.delete(key); // dropped since it was kept
      return undefined;
    },
    set(key, value, size, ttlMs, groups, since) {
      // A TTL below 1 ms would mean "forever" to the LRU; such a value is not kept at all.
      if (ttlMs < 1) return;
      const stamp = marks.stamp(name, key, groups, since);
      if (!stamp) return;
      // The stamp is held too (8 bytes per group, and an array's own cost).
      const bytes = Math.max(64, Math.ceil(size)) + stamp.byteLength + 80;
      if (bytes > options.maxBytes) return;
      values.set(key, { value, groups, stamp }, { size: bytes, ttl: Math.min(ttlMs, maxTtlMs) });
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
