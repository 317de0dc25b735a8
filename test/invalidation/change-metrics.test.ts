/** The change log's metrics, as /metrics shows them: counters mirrored from CacheCounters, the lag histogram. */
import { describe, expect, it } from 'vitest';
import { CacheCounters } from '../../src/cache/counters.js';
import { SqlCounter } from '../../src/db/client.js';
import { createMetrics } from '../../src/observability/metrics.js';

describe('change log metrics', () => {
  it('exports applied rows by table, purges and catch-ups by reason, and the lag', async () => {
    const counters = new CacheCounters();
    const metrics = createMetrics({ counters, sql: new SqlCounter() });
    counters.inc('change_applied', 'kits', 2);
    counters.inc('change_applied', 'clubs');
    counters.inc('change_purge', 'bulk');
    counters.inc('change_catch_up', 'reconnect');
    metrics.changeLag.observe(0.03);
    metrics.changeLag.observe(0.2);
    const text = await metrics.registry.metrics();
    expect(text).toContain('kitvault_change_log_applied_total{table="kits"} 2');
    expect(text).toContain('kitvault_change_log_applied_total{table="clubs"} 1');
    expect(text).toContain('kitvault_change_log_purges_total{reason="bulk"} 1');
    expect(text).toContain('kitvault_change_log_catch_ups_total{reason="reconnect"} 1');
    expect(text).toContain('kitvault_change_log_lag_seconds_bucket{le="0.05"} 1');
    expect(text).toContain('kitvault_change_log_lag_seconds_count 2');
  });
});
