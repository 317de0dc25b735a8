/**
 * The contract of the shared second level under the per-request DataLoaders. It knows nothing of
 * the domain: values live under (namespace, id), and the loaders hand it a `fetch` for the misses.
 *
 * `readThrough` answers in key order, with `null` where `fetch` found nothing. `invalidate` drops
 * keys after a write has committed, for every server that shares the store. `readGroup` and
 * `invalidateGroups` do the same for values that have no id of their own (the pages of a list).
 */
/** `N`: the namespaces a user of the cache declares (the domain's registry); any string by default. */
export type EntityKey<N extends string = string> = { namespace: N; id: number };

export type EntityFetch<V> = (ids: readonly number[]) => Promise<Map<number, V>>;

/** A group's fetch: one value per key it can answer (a key it leaves out is cached as absent). */
export type GroupFetch<V> = (keys: readonly string[]) => Promise<Map<string, V>>;

export interface EntityCache<N extends string = string> {
  /** True when values outlive the request (then every value must arrive through readThrough). */
  readonly shared: boolean;
  readThrough<V>(namespace: N, ids: readonly number[], fetch: EntityFetch<V>): Promise<(V | null)[]>;
  /**
   * What this process holds for (namespace, id) and may answer now, as `readThrough` would answer
   * it from there, without a promise; undefined when it holds nothing usable (then `readThrough`).
   */
  peek<V>(namespace: N, id: number): { value: V | null } | undefined;
  /**
   * Values that are voided together (the pages and counts of one list), read through like rows.
   * `group` is what invalidates them (any string); `namespace` names their kind (TTL, metrics);
   * `keys` tell the values of the group apart.
   */
  readGroup<V>(namespace: N, group: string, keys: readonly string[], fetch: GroupFetch<V>): Promise<(V | null)[]>;
  /** Answers whether the invalidation reached the storage (false: it could not be delivered). */
  invalidate(keys: readonly EntityKey<N>[]): Promise<boolean>;
  /** Voids every value of these groups, in one step per group whatever their number; answers as `invalidate`. */
  invalidateGroups(groups: readonly string[]): Promise<boolean>;
  /** Drops everything (admin purge); answers how many values went. */
  clear(): Promise<number>;
  entries(): Promise<number | null>;
}

/** No second level: every batch goes to the database (ENTITY_CACHE=off, and the foundation). */
export const noEntityCache: EntityCache = {
  shared: false,
  async readThrough(_namespace, ids, fetch) {
    const found = await fetch(ids);
    return ids.map((id) => found.get(id) ?? null);
  },
  peek: () => undefined,
  async readGroup(_namespace, _group, keys, fetch) {
    const found = await fetch(keys);
    return keys.map((key) => found.get(key) ?? null);
  },
  async invalidate() {
    return true;
  },
  async invalidateGroups() {
    return true;
  },
  async clear() {
    return 0;
  },
  async entries() {
    return 0;
  },
};
