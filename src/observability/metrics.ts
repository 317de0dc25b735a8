/**
 * Prometheus metrics (prom-client), all named `kitvault_…`. Cache and SQL counters are read from
 * where they are kept (CacheCounters, SqlCounter) when scraped, so the hot path only bumps numbers.
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CacheCounters, CounterName } from '../cache/counters.js';
import type { SqlCounter } from '../db/client.js';
import { createOperationLabels, type OperationLabelOptions, type OperationLabels } from './operation-labels.js';

export type Metrics = {
  registry: Registry;
  /** Observe with `operation: operations.label(name)`, never the client's name itself. */
  requestDuration: Histogram<'operation' | 'cache'>;
  /** The bounded set of `operation` label values (src/observability/operation-labels.ts). */
  operations: OperationLabels;
  /** From a write made outside the API (its change-log row) to its drop from the caches. */
  changeLag: Histogram;
  /** From a write's drop being announced to every instance's in-process layers having applied it. */
  l1DropDelivery: Histogram;
};

export function createMetrics(deps: {
  counters: CacheCounters;
  sql: SqlCounter;
  operations?: OperationLabelOptions;
}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'kitvault_' });
  const { counters } = deps;

  /** A counter whose value is CacheCounters' `source`, labelled by its label (if `label` is given). */
  function mirror(
    name: string,
    help: string,
    sources: Partial<Record<CounterName, Record<string, string>>>,
    label?: string,
  ) {
    const labelNames = [
      ...new Set([...Object.values(sources).flatMap((l) => Object.keys(l ?? {})), ...(label ? [label] : [])]),
    ];
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const c of counters.snapshot()) {
          const fixed = sources[c.name];
          if (!fixed) continue;
          this.inc({ ...fixed, ...(label ? { [label]: c.label || 'none' } : {}) }, c.value);
        }
      },
    });
  }

  mirror('kitvault_response_cache_requests_total', 'Response-cache lookups by result.', {
    response_hit: { result: 'hit' },
    response_miss: { result: 'miss' },
  });
  mirror(
    'kitvault_response_cache_local_hits_total',
    'Lookups answered from the in-process layer (RESPONSE_L1_MB), no Redis round trip: part of the hits above.',
    { response_local_hit: {} },
  );
  mirror('kitvault_response_cache_writes_total', 'Responses stored.', { response_write: {} });
  mirror(
    'kitvault_response_cache_coalesced_total',
    'Misses answered by an identical request already executing (not executed).',
    {
      response_coalesced: {},
    },
  );
  mirror('kitvault_response_cache_stale_served_total', 'Stale entries served while being refreshed.', {
    response_stale_served: {},
  });
  mirror(
    'kitvault_response_cache_refused_writes_total',
    'Write-backs not stored, by reason: stale (invalidated since their lookup), fenced, unfit (a tag the store cannot keep), unvouched, slow.',
    { response_write_refused: {} },
    'reason',
  );
  mirror(
    'kitvault_response_cache_invalidations_total',
    'Tags invalidated, by tag type.',
    { response_invalidation: {} },
    'type',
  );
  mirror('kitvault_response_cache_invalidation_failures_total', 'Invalidations that could not reach Redis.', {
    response_invalidation_failed: {},
  });
  mirror(
    'kitvault_entity_cache_requests_total',
    'Entity-cache lookups by type and result.',
    {
      entity_local_hit: { result: 'local_hit' },
      entity_hit: { result: 'hit' },
      entity_miss: { result: 'miss' },
      entity_negative_hit: { result: 'negative_hit' },
    },
    'type',
  );
  mirror('kitvault_entity_cache_fills_total', 'Entity-cache fills by type.', { entity_fill: {} }, 'type');
  mirror(
    'kitvault_entity_cache_refused_fills_total',
    'Fills refused (lease voided by a write), by type.',
    { entity_fill_refused: {} },
    'type',
  );
  mirror(
    'kitvault_entity_cache_invalidations_total',
    'Entity keys invalidated, by type.',
    { entity_invalidation: {} },
    'type',
  );
  mirror(
    'kitvault_entity_cache_group_invalidations_total',
    'Entity-cache groups (the cached pages and counts of one list) voided by writes.',
    { entity_group_invalidation: {} },
  );
  mirror(
    'kitvault_response_cache_fences_total',
    "Response-cache buckets given a new epoch (all their entries became misses), by reason: lost (Redis evicted or flushed one of a bucket's two keys; many: maxmemory is too small; a bucket that lost both starts again uncounted) or full (a bucket's tag versions reached their bound).",
    { response_fence: {} },
    'reason',
  );
  mirror(
    'kitvault_response_cache_buckets_touched_total',
    "Response-cache buckets where an invalidation concerned cached entries: each of their entries' next hit is checked by a script (then restamped).",
    { response_bucket_touched: {} },
  );
  mirror(
    'kitvault_redis_short_circuits_total',
    'Redis commands not sent because the circuit breaker was open (each served from the database), by where.',
    { redis_short_circuit: {} },
    'where',
  );
  mirror('kitvault_invalidations_recorded_total', 'Invalidations recorded in Postgres with their write.', {
    invalidation_recorded: {},
  });
  mirror(
    'kitvault_invalidations_replayed_total',
    'Recorded invalidations applied by a follower or a catch-up (their writer could not deliver them).',
    { invalidation_replayed: {} },
  );
  mirror(
    'kitvault_edge_purges_total',
    'Edge (CDN, Varnish) purges sent and confirmed, first or repeat.',
    { edge_purge: {} },
    'which',
  );
  mirror(
    'kitvault_edge_purge_failures_total',
    'Edge purges that failed (timeout, refused, unreachable), first or repeat: the edge may keep those answers until their max-age.',
    { edge_purge_failed: {} },
    'which',
  );
  mirror(
    'kitvault_redis_errors_total',
    'Redis errors and timeouts (each one served from the database), by where.',
    { redis_error: {} },
    'where',
  );

  mirror(
    'kitvault_change_log_applied_total',
    'Change-log rows (writes made outside the API) applied to the caches, by table.',
    { change_applied: {} },
    'table',
  );
  mirror(
    'kitvault_change_log_purges_total',
    'Full purges from the change log: a TRUNCATE or bulk statement (bulk), or a position lost or past the retention (position).',
    { change_purge: {} },
    'reason',
  );
  mirror(
    'kitvault_change_log_catch_ups_total',
    'Change-log catch-ups: the listening connection re-established (reconnect), Redis back (recovery).',
    { change_catch_up: {} },
    'reason',
  );
  const changeLag = new Histogram({
    name: 'kitvault_change_log_lag_seconds',
    help: 'From a write made outside the API (its change-log row) to its drop from the caches.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  const l1DropDelivery = new Histogram({
    name: 'kitvault_l1_drop_delivery_seconds',
    help: "From a write's drop being published to every instance's in-process layers (ENTITY_L1_MB, RESPONSE_L1_MB) having applied it: how long another instance could still serve it from memory. The write answers after this.",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  mirror(
    'kitvault_l1_drop_unacknowledged_total',
    "Drops some instance did not acknowledge within 1 s: the writer answered once that instance's layers were unusable (its heartbeat had not come back).",
    { l1_drop_unacknowledged: {} },
  );

  new Counter({
    name: 'kitvault_sql_statements_total',
    help: 'SQL statements sent to the database.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(deps.sql.statements);
    },
  });

  const requestDuration = new Histogram({
    name: 'kitvault_graphql_request_duration_seconds',
    help: 'GraphQL operation duration, from the context being built to the result, by operation name (a bounded set: see METRICS_MAX_OPERATIONS) and cache result.',
    labelNames: ['operation', 'cache'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  return { registry, requestDuration, operations: createOperationLabels(deps.operations), changeLag, l1DropDelivery };
}
