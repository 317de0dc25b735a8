/**
 * The security-related settings: validated at start, a bad value names its variable.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration of /metrics', () => {
  it('reads METRICS_OPERATION_NAMES and METRICS_MAX_OPERATIONS (default 100, at most 1000)', () => {
    expect(loadConfig({})).toMatchObject({ metricsOperationNames: [], metricsMaxOperations: 100 });
    expect(loadConfig({ METRICS_OPERATION_NAMES: ' KitPage, Search ,', METRICS_MAX_OPERATIONS: '0' })).toMatchObject({
      metricsOperationNames: ['KitPage', 'Search'],
      metricsMaxOperations: 0,
    });
    expect(() => loadConfig({ METRICS_MAX_OPERATIONS: '1001' })).toThrow(/METRICS_MAX_OPERATIONS/);
    expect(() => loadConfig({ METRICS_OPERATION_NAMES: 'Kit Page' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_OPERATION_NAMES: 'x'.repeat(101) })).toThrow(/METRICS_OPERATION_NAMES/);
  });
});
