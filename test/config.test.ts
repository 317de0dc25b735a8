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

describe('configuration of Postgres', () => {
  it('reads DATABASE_POOL_SIZE (default 10, 1 to 1000)', () => {
    expect(loadConfig({})).toMatchObject({ databasePoolSize: 10 });
    expect(loadConfig({ DATABASE_POOL_SIZE: '40' })).toMatchObject({ databasePoolSize: 40 });
    for (const bad of ['0', '1001', '2.5', 'many'])
      expect(() => loadConfig({ DATABASE_POOL_SIZE: bad }), bad).toThrow(/DATABASE_POOL_SIZE/);
  });
});

describe('configuration of a Redis Cluster', () => {
  it('reads REDIS_CLUSTER_NODES as host:port seeds, used instead of REDIS_URL', () => {
    expect(loadConfig({})).toMatchObject({ redisClusterNodes: undefined, redisUrlIgnored: false });
    expect(loadConfig({ REDIS_CLUSTER_NODES: ' redis-1:7000, 10.0.0.2:7001,[::1]:7002 ,' })).toMatchObject({
      redisClusterNodes: [
        { host: 'redis-1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      redisUrl: undefined,
      redisUrlIgnored: false,
    });
    // Both set: the cluster wins, and start-up says REDIS_URL is ignored.
    expect(loadConfig({ REDIS_URL: 'redis://single:6379', REDIS_CLUSTER_NODES: 'a:7000' })).toMatchObject({
      redisClusterNodes: [{ host: 'a', port: 7000 }],
      redisUrl: undefined,
      redisUrlIgnored: true,
    });
    expect(loadConfig({ REDIS_URL: 'redis://single:6379' })).toMatchObject({
      redisClusterNodes: undefined,
      redisUrl: 'redis://single:6379',
    });
  });

  it('stops start-up on a bad entry, naming the variable', () => {
    for (const bad of ['redis-1', 'redis-1:', ':7000', 'a:7000,b', 'a:0', 'a:65536', 'redis://a:7000', 'a b:7000'])
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: bad }), bad).toThrow(/REDIS_CLUSTER_NODES/);
  });
});
