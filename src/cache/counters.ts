/**
 * Cache counters kept in one place, by name and label, so the metrics layer can export them and
 * tests can prove what a request cost. Plain numbers: no dependency, no async.
 */
export type CounterName =
  | 'response_hit'
  | 'response_local_hit'
  | 'response_miss'
  | 'response_write'
  | 'response_coalesced'
  | 'response_stale_served'
  | 'response_lease_busy'
  | 'response_write_refused'
  | 'response_invalidation'
  | 'response_invalidation_failed'
  | 'response_fence'
  | 'response_bucket_touched'
  | 'entity_hit'
  | 'entity_local_hit'
  | 'entity_miss'
  | 'entity_negative_hit'
  | 'entity_fill'
  | 'entity_fill_refused'
  | 'entity_invalidation'
  | 'entity_group_invalidation'
  | 'entity_invalidation_failed'
  | 'l1_drop_unacknowledged'
  | 'redis_error'
  | 'redis_short_circuit'
  | 'invalidation_recorded'
  | 'invalidation_replayed'
  | 'edge_purge'
  | 'edge_purge_failed'
  | 'change_applied'
  | 'change_purge'
  | 'change_catch_up';

export class CacheCounters {
  /** By name, then label: a hit bumps two counters, and a key built per bump was most of their cost. */
  private readonly values = new Map<CounterName, Map<string, number>>();

  inc(name: CounterName, label = '', by = 1): void {
    let byLabel = this.values.get(name);
    if (!byLabel) this.values.set(name, (byLabel = new Map()));
    byLabel.set(label, (byLabel.get(label) ?? 0) + by);
  }

  /** The total of a counter, over all labels unless one is named. */
  get(name: CounterName, label?: string): number {
    const byLabel = this.values.get(name);
    if (label !== undefined) return byLabel?.get(label) ?? 0;
    let total = 0;
    for (const value of byLabel?.values() ?? []) total += value;
    return total;
  }

  snapshot(): { name: CounterName; label: string; value: number }[] {
    return [...this.values].flatMap(([name, byLabel]) =>
      [...byLabel].map(([label, value]) => ({ name, label, value })),
    );
  }
}
