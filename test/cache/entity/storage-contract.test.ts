/**
 * The lease contract of entity storage, run against Redis and the in-memory LRU alike.
 */
import calculateSlot from 'cluster-key-slot';
import { isCluster, type RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryEntityStorage } from '../../../src/cache/entity/memory-storage.js';
import { createRedisEntityStorage } from '../../../src/cache/entity/redis-storage.js';
import type { EntityStorage } from '../../../src/cache/entity/storage.js';
import { backends, dropPrefix, keysUnder, newPrefix, testRedis } from '../../helpers/caches.js';

describe.each(backends())('entity storage contract on $backend', ({ backend, skip }) => {
  let redis: RedisClient | undefined;
  let prefix = '';
  let storage: EntityStorage;
  const k = (name: string) => `${prefix}{e:1:T:${name}}`;

  beforeAll(() => {
    if (skip) return;
    prefix = newPrefix();
    if (backend === 'redis') redis = testRedis();
    storage = redis ? createRedisEntityStorage(redis) : createMemoryEntityStorage();
  });
  afterAll(async () => {
    if (redis) {
      await dropPrefix(redis, prefix);
      redis.disconnect();
    }
  });

  it.skipIf(skip)(
    `leases a miss to one reader; others are told it is busy${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      expect(await storage.readOrLease([k('a'), k('b')], 'tok1', 5000)).toEqual([
        { kind: 'leased' },
        { kind: 'leased' },
      ]);
      expect(await storage.readOrLease([k('a')], 'tok2', 5000)).toEqual([{ kind: 'busy' }]);
    },
  );

  it.skipIf(skip)('accepts a fill from the lease holder only, then serves it', async () => {
    expect(await storage.fill([{ key: k('a'), value: Buffer.from('A'), ttlMs: 10_000 }], 'tok2')).toEqual([false]);
    expect(
      await storage.fill(
        [
          { key: k('a'), value: Buffer.from('A'), ttlMs: 10_000 },
          { key: k('b'), value: Buffer.from('B'), ttlMs: 10_000 },
        ],
        'tok1',
      ),
    ).toEqual([true, true]);
    const read = await storage.readOrLease([k('a'), k('b')], 'tok3', 5000);
    expect(read.map((r) => (r.kind === 'hit' ? r.value.toString() : r.kind))).toEqual(['A', 'B']);
  });

  it.skipIf(skip)('refuses a stale fill: an invalidation between lease and fill voids the lease', async () => {
    expect(await storage.readOrLease([k('c')], 'old', 5000)).toEqual([{ kind: 'leased' }]);
    await storage.invalidate([k('c')]);
    expect(await storage.fill([{ key: k('c'), value: Buffer.from('stale'), ttlMs: 10_000 }], 'old')).toEqual([false]);
    expect(await storage.readOrLease([k('c')], 'new', 5000)).toEqual([{ kind: 'leased' }]);
  });

  it.skipIf(skip)('drops values on invalidation and lets leases expire', async () => {
    await storage.invalidate([k('a')]);
    const read = await storage.readOrLease([k('a'), k('b')], 'tok4', 50);
    expect(read[0]).toEqual({ kind: 'leased' });
    expect(read[1]?.kind).toBe('hit');
    await new Promise((r) => setTimeout(r, 80));
    expect(await storage.readOrLease([k('a')], 'tok5', 5000)).toEqual([{ kind: 'leased' }]);
  });

  describe('groups', () => {
    const g = (name: string) => `${prefix}{g:1:${name}}`;
    const v = (group: string, key: string) => `${g(group)}:T:${key}`;
    const shown = (read: { outcomes: { kind: string; value?: Buffer }[] }) =>
      read.outcomes.map((r) => (r.kind === 'hit' ? r.value!.toString() : r.kind));

    it.skipIf(skip)(
      'reads a value only under the version it was filled in, and leases misses to one reader',
      async () => {
        const first = await storage.readGroup(g('a'), [v('a', 'p1'), v('a', 'p2')], 'v1tok', 5000, 60_000);
        expect(first.version).toBe('v1tok');
        expect(shown(first)).toEqual(['leased', 'leased']);
        const second = await storage.readGroup(g('a'), [v('a', 'p1')], 'other', 5000, 60_000);
        expect(second.version).toBe('v1tok');
        expect(shown(second)).toEqual(['busy']);
        const fills = [
          { key: v('a', 'p1'), value: Buffer.from('P1'), ttlMs: 10_000 },
          { key: v('a', 'p2'), value: Buffer.from('P2'), ttlMs: 10_000 },
        ];
        expect(await storage.fillGroup(g('a'), 'v1tok', fills, 'other')).toEqual([false, false]);
        expect(await storage.fillGroup(g('a'), 'v1tok', fills, 'v1tok')).toEqual([true, true]);
        expect(shown(await storage.readGroup(g('a'), [v('a', 'p1'), v('a', 'p2')], 'x', 5000, 60_000))).toEqual([
          'P1',
          'P2',
        ]);
      },
    );

    it.skipIf(skip)('voids every value of a group in one step, and no other group', async () => {
      await storage.readGroup(g('b'), [v('b', 'p1')], 'bv1', 5000, 60_000);
      await storage.fillGroup(g('b'), 'bv1', [{ key: v('b', 'p1'), value: Buffer.from('B'), ttlMs: 10_000 }], 'bv1');
      await storage.invalidateGroups([g('a')]);
      const a = await storage.readGroup(g('a'), [v('a', 'p1'), v('a', 'p2')], 'v2tok', 5000, 60_000);
      expect(a.version).toBe('v2tok');
      expect(shown(a)).toEqual(['leased', 'leased']);
      expect(shown(await storage.readGroup(g('b'), [v('b', 'p1')], 'y', 5000, 60_000))).toEqual(['B']);
    });

    it.skipIf(skip)('refuses a fill read under a version the group has since lost, and frees its lease', async () => {
      const read = await storage.readGroup(g('c'), [v('c', 'p')], 'cv1', 5000, 60_000);
      expect(shown(read)).toEqual(['leased']);
      await storage.invalidateGroups([g('c')]);
      // A reader after the drop gets a new version; the old reader's lease still holds the key…
      expect(shown(await storage.readGroup(g('c'), [v('c', 'p')], 'cv2', 5000, 60_000))).toEqual(['busy']);
      // …its fill is refused, and that frees the key for the next reader.
      const stale = [{ key: v('c', 'p'), value: Buffer.from('stale'), ttlMs: 10_000 }];
      expect(await storage.fillGroup(g('c'), 'cv1', stale, 'cv1')).toEqual([false]);
      const next = await storage.readGroup(g('c'), [v('c', 'p')], 'cv3', 5000, 60_000);
      expect(next.version).toBe('cv2');
      expect(shown(next)).toEqual(['leased']);
    });
  });

  if (backend === 'redis') {
    it.skipIf(skip)('puts a TTL on every key it writes; a group version outlives its values', async () => {
      await storage.fill([{ key: k('a'), value: Buffer.from('x'), ttlMs: 10_000 }], 'tok5');
      const group = `${prefix}{g:1:ttl}`;
      await storage.readGroup(group, [`${group}:T:p`], 'gtok', 5000, 1_000);
      await storage.fillGroup(group, 'gtok', [{ key: `${group}:T:p`, value: Buffer.from('x'), ttlMs: 30_000 }], 'gtok');
      expect(await redis!.pttl(group)).toBeGreaterThanOrEqual(await redis!.pttl(`${group}:T:p`));
      const keys = await keysUnder(redis!, prefix);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(await redis!.pttl(key), key).toBeGreaterThan(0);
    });

    it.skipIf(skip)(
      'hands every script each key it touches, all in one slot: a value and its lease, and a group its version (the Cluster contract)',
      async () => {
        const sent = vi.spyOn(redis!, 'sendCommand');
        try {
          await storage.readOrLease([k('d1'), k('d2')], 'tok6', 5000);
          await storage.fill([{ key: k('d1'), value: Buffer.from('x'), ttlMs: 10_000 }], 'tok6');
          await storage.invalidate([k('d1'), k('d2')]);
          const group = `${prefix}{g:1:contract}`;
          await storage.readGroup(group, [`${group}:T:p`], 'tok7', 5000, 10_000);
          await storage.fillGroup(
            group,
            'tok7',
            [{ key: `${group}:T:p`, value: Buffer.from('x'), ttlMs: 10_000 }],
            'tok7',
          );
          const scripts = sent.mock.calls.map(([command]) => command).filter((c) => /^eval/.test(c.name));
          expect(scripts.length).toBeGreaterThanOrEqual(5);
          for (const command of scripts) {
            const keys = command.args.slice(2, 2 + Number(command.args[1])).map(String);
            // A group is one slot always; on a Cluster, a batch of entities is split by slot.
            if (keys[0] === group || isCluster(redis!))
              expect(new Set(keys.map((key) => calculateSlot(key))).size).toBe(1);
            // A group's scripts take its version first; every other key is a value or its lease.
            const pairs = keys[0] === group ? keys.slice(1) : keys;
            const values = pairs.filter((key) => !key.endsWith(':l'));
            expect(values.length).toBeGreaterThan(0);
            expect(pairs.sort()).toEqual(values.flatMap((key) => [key, `${key}:l`]).sort());
          }
          expect(scripts.filter((c) => String(c.args[2]) === group)).toHaveLength(2);
        } finally {
          sent.mockRestore();
        }
      },
    );
  }
});
