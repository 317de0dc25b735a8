/**
 * `npm run test:cluster`: the cache tests again, against a Redis Cluster. With
 * TEST_REDIS_CLUSTER_NODES=h:p,… they use that cluster; otherwise global setup starts a local one
 * (3 masters, one replica each) and stops it at the end. Same code, only the client differs.
 */
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

if (!process.env.TEST_REDIS_CLUSTER_NODES) process.env.TEST_REDIS_CLUSTER ??= 'local';

// Not mergeConfig: it would append this list to the base's include instead of replacing it.
export default defineConfig({
  ...base,
  test: {
    ...base.test,
    // Every test file that uses the run's Redis (testRedis()/backends()) and does not start a
    // redis-server of its own. Left out, and why:
    //  - test/cache/response/redis-outage, test/faults/redis-partition, tcp-proxy: their Redis is their
    //    own redis-server or a TCP proxy in front of one Redis; a cluster client follows MOVED to the
    //    nodes' own addresses, around any proxy (losing a cluster node is the failover test's part).
    //  - test/invalidation/change-log-redis-cut: the same TCP-proxy cut of one Redis.
    //  - test/cache/response/bounded-memos, test/api/mutations, test/api/queries,
    //    test/invalidation/change-log-pglite: no Redis at all.
    include: [
      'test/cache/entity/*.test.ts',
      'test/cache/redis/*.test.ts',
      'test/cache/response/!(redis-outage|bounded-memos).test.ts',
      'test/faults/{response-key-loss,entity-key-loss,version-eviction,random-key-loss}.test.ts',
      'test/http/{request-path,cross-server-coalescing}.test.ts',
      'test/api/{cache-admin,no-secrets-cached}.test.ts',
      'test/auth/logout-reach.test.ts',
      'test/invalidation/change-log.test.ts',
      'test/persisted/apq.test.ts',
    ],
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results-cluster.json' }]] : ['default'],
  },
});
