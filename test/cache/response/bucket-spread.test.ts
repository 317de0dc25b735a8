/**
 * On a Redis Cluster the response store's buckets (`{rc:0}` … `{rc:15}`, one hash tag each) are
 * what spreads its keys, and its invalidation work, over the masters: every master must own at
 * least one bucket, or it holds no entries at all. Only in cluster mode (npm run test:cluster).
 *
 * The keys are found where they really are: a purge starts every bucket (writes its clock and
 * versions), and SCAN on each master says which buckets it holds.
 */
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCluster, type RedisClient } from '../../../src/cache/redis/client.js';
import { createRedisResponseStore } from '../../../src/cache/response/index.js';
import {
  clusterMode,
  dropPrefix,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
} from '../../helpers/caches.js';

const BUCKETS = 16;
const skip = !clusterMode()
  ? 'not in cluster mode (npm run test:cluster)'
  : redisAvailable()
    ? false
    : redisSkipReason();

/** "6/5/5": buckets per master, most first. */
const spreadOf = (counts: number[]) => [...counts].sort((a, b) => b - a).join('/');

describe.skipIf(skip)(`the response buckets over the cluster's masters${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let redis: RedisClient;
  let prefix = '';
  beforeAll(async () => {
    redis = testRedis();
    await redis.ping();
    prefix = newPrefix();
  });
  afterAll(async () => {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  });

  it('every master holds at least one bucket, each bucket on exactly one master', async () => {
    if (!isCluster(redis)) throw new Error('cluster mode without a Cluster client');
    const store = createRedisResponseStore({ redis, prefix, buckets: BUCKETS });
    await store.clear(); // starts every bucket: writes its clock and versions

    const masters = redis.nodes('master');
    expect(masters.length).toBeGreaterThanOrEqual(3);
    const bucketsOn = await Promise.all(
      masters.map(async (node) => {
        const found = new Set<number>();
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}{rc:*`, 'COUNT', 1000);
          cursor = next;
          for (const key of keys) found.add(Number(/\{rc:(\d+)\}/.exec(key)![1]));
        } while (cursor !== '0');
        return found;
      }),
    );
    const all = bucketsOn.flatMap((found) => [...found]);
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: BUCKETS }, (_, b) => b));
    for (const found of bucketsOn) expect(found.size).toBeGreaterThan(0);

    // For the README: this spread, and what other bucket counts would give on the same slots.
    const owners = await masterRanges(redis);
    const spreadFor = (n: number) =>
      spreadOf(
        owners
          .map(({ ranges }) =>
            Array.from({ length: n }, (_, b) => calculateSlot(`{rc:${b}}`)).filter((slot) =>
              ranges.some(([from, to]) => from <= slot && slot <= to),
            ),
          )
          .map((slots) => slots.length),
      );
    expect(spreadFor(BUCKETS)).toBe(spreadOf(bucketsOn.map((found) => found.size)));
    console.log(
      `response buckets per master: ${[8, 16, 32, 64, 128].map((n) => `${n} buckets → ${spreadFor(n)}`).join(', ')}`,
    );
  });
});

/** Each master's slot ranges, from CLUSTER SLOTS. */
async function masterRanges(redis: RedisClient): Promise<{ ranges: [number, number][] }[]> {
  const reply = await redis.cluster('SLOTS');
  const byMaster = new Map<string, [number, number][]>();
  for (const [from, to, master] of reply) {
    if (!master) continue;
    const id = `${master[0]}:${master[1]}`;
    byMaster.set(id, [...(byMaster.get(id) ?? []), [Number(from), Number(to)]]);
  }
  return [...byMaster.values()].map((ranges) => ({ ranges }));
}
