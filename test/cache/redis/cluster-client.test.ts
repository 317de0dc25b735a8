/**
 * The API's Cluster client (REDIS_CLUSTER_NODES): start-up waits until the slots are loaded and
 * never fails on a cluster that does not answer; scripts defined with defineCommand, called for many
 * slots at once, are auto-pipelined per node without failing (ioredis alone files them under their
 * key count and fails the whole pipeline).
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { connectRedis, createRedis, isCluster, type RedisClient } from '../../../src/cache/redis/client.js';
import { clusterMode, dropPrefix, newPrefix, redisAvailable, redisSkipReason } from '../../helpers/caches.js';
import { freePort } from '../../helpers/redis-server.js';
import { hostPort } from '../../helpers/services.js';

const skip = !clusterMode()
  ? 'not in cluster mode (npm run test:cluster)'
  : redisAvailable()
    ? false
    : redisSkipReason();

describe.skipIf(skip)(`the Cluster client on the run's cluster${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let redis: RedisClient;
  const prefix = skip ? '' : newPrefix();
  afterAll(async () => {
    if (!redis) return;
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('is ready (slots loaded) once connectRedis resolves, then runs scripts on every slot at once', async () => {
    redis = createRedis({ clusterNodes: inject('redisCluster')!.map(hostPort), timeoutMs: 2000 });
    expect(isCluster(redis)).toBe(true);
    expect(await connectRedis(redis)).toBeNull();
    expect(redis.status).toBe('ready');
    redis.defineCommand('kvTestEcho', { lua: "redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000) return ARGV[1]" });
    // Through the defined method, as the stores call it: 64 keys on many slots, in the same tick.
    const keys = Array.from({ length: 64 }, (_, i) => `${prefix}{s${i}}`);
    const method: unknown = Reflect.get(redis, 'kvTestEcho');
    if (typeof method !== 'function') throw new Error('kvTestEcho was not defined');
    const replies: unknown[] = await Promise.all(
      keys.map((key, i) => Promise.resolve(Reflect.apply(method, redis, [1, key, `v${i}`]))),
    );
    expect(replies).toEqual(keys.map((_, i) => `v${i}`));
    // A second round goes as EVALSHA (loaded on every node by the first).
    const again: unknown[] = await Promise.all(
      keys.map((key, i) => Promise.resolve(Reflect.apply(method, redis, [1, key, `w${i}`]))),
    );
    expect(again).toEqual(keys.map((_, i) => `w${i}`));
    expect(await redis.get(keys[63]!)).toBe('w63');
  });
});

describe('the Cluster client when no seed answers', () => {
  it('reports the error within the wait, never throws, and fails commands at once', async () => {
    const port = await freePort(); // nothing listens there
    const redis = createRedis({ clusterNodes: [{ host: '127.0.0.1', port }], timeoutMs: 200 });
    try {
      const started = Date.now();
      const error = await connectRedis(redis, 1000);
      expect(error).toBeInstanceOf(Error);
      expect(Date.now() - started).toBeLessThan(3000);
      const failed = Date.now();
      await expect(redis.get('anything')).rejects.toThrow();
      expect(Date.now() - failed).toBeLessThan(1000); // no offline queue: not held until the cluster is back
    } finally {
      redis.disconnect();
    }
  });
});
