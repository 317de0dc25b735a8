/**
 * The entity level under the loaders, against real Postgres and Redis (and memory): batches cost one
 * Redis round trip and one SQL statement for their misses, warm reads cost no SQL, writes drop the
 * right keys, stale fills are refused, a stampede costs one read, and Redis failing costs nothing
 * but speed.
 */
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connectRedis, createRedis } from '../../../src/cache/redis/client.js';
import type { Database } from '../../../src/db/client.js';
import { countSql, data, gql, testApp } from '../../helpers/app.js';
import {
  backends,
  cachedApp,
  entityServers,
  clusterMode,
  dropPrefix,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
} from '../../helpers/caches.js';
import { openTestDatabase } from '../../helpers/database.js';
import { hostPort } from '../../helpers/services.js';
import { inject } from 'vitest';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const NESTED = /* GraphQL */ `
  query ($s: ID!) {
    season(id: $s) {
      label
      kits(first: 50) {
        totalCount
        edges {
          node {
            id
            name
            club {
              id
              name
            }
            season {
              id
              label
            }
            brand {
              id
              name
            }
            competitions {
              id
              name
            }
          }
        }
      }
    }
  }
`;

/** Kit ids no seeded kit has: the probes below hand the cache their own rows. */
const PROBE = 900_001;
const PROBE_2 = 900_002;

describe.each(backends())('entity cache on $backend', ({ backend, skip }) => {
  const servers = entityServers(() => database, backend, skip);

  it.skipIf(skip)(
    `runs a nested 50-kit query cold with one statement per entity type, and warm with none${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      const cold = await countSql(database, () => data(servers.one.app, NESTED, { s: '2' }));
      expect(cold.result.season.kits.edges).toHaveLength(50);
      // One statement per entity type and relation list, whatever the page size: the season, its kit
      // ids, the kits, their clubs, brands, competition ids and competitions.
      const tables = cold.statements.map((q) => /from "(\w+)"/.exec(q)?.[1]);
      expect(tables.sort()).toEqual(['brands', 'clubs', 'competitions', 'kit_competitions', 'kits', 'kits', 'seasons']);

      const sendCommand = servers.redis ? vi.spyOn(servers.redis, 'sendCommand') : undefined;
      const batches = vi.spyOn(servers.one.caches.entityCache, 'readThrough');
      const warm = await countSql(database, () => data(servers.one.app, NESTED, { s: '2' }));
      expect(warm.statements).toEqual([]);
      expect(warm.result).toEqual(cold.result);
      // …and both are exactly what the database says, lists in the same order.
      expect(warm.result).toEqual(await data(testApp(database), NESTED, { s: '2' }));
      if (sendCommand && !clusterMode()) {
        // One script call (one round trip) per loader batch.
        expect(sendCommand.mock.calls.length).toBe(batches.mock.calls.length);
      } else if (sendCommand) {
        // On a Cluster a batch is split by slot: one script call per slot of each batch (each entity
        // has a hash tag of its own), every call single-slot, and every batch's type among them.
        const calls = sendCommand.mock.calls.map(([command]) => {
          const keys = command.args.slice(2, 2 + Number(command.args[1])).map(String);
          const slots = new Set(keys.map((key) => calculateSlot(key)));
          expect(slots.size).toBe(1);
          return { name: command.name, type: /\{e:[^:]+:([^:}]+):/.exec(keys[0]!)?.[1], slot: [...slots][0] };
        });
        for (const { name } of calls) expect(['evalsha', 'eval']).toContain(name);
        expect(new Set(calls.map(({ type, slot }) => `${type} ${slot}`)).size).toBe(calls.length);
        expect(new Set(calls.map(({ type }) => type)).size).toBe(batches.mock.calls.length);
      }
      sendCommand?.mockRestore();
      batches.mockRestore();
    },
  );

  it.skipIf(skip)('serves club(id) { kits } warm with zero SQL (response cache off)', async () => {
    const q =
      '{ club(id: 4) { name seasons { label } kits(first: 100) { totalCount edges { node { name brand { name } } } } } }';
    await data(servers.one.app, q);
    const warm = await countSql(database, () => data(servers.one.app, q));
    expect(warm.statements).toEqual([]);
    expect(warm.result.club.kits.totalCount).toBeGreaterThan(0);
  });

  it.skipIf(skip)('caches absences briefly: a flood of lookups for a missing id reaches Postgres once', async () => {
    const q = '{ kit(id: 987654) { id } }';
    const first = await countSql(database, () => data(servers.one.app, q));
    expect(first.result.kit).toBeNull();
    expect(first.statements).toHaveLength(1);
    const negBefore = servers.one.caches.counters.get('entity_negative_hit', 'Kit');
    const flood = await countSql(database, async () => {
      for (let i = 0; i < 20; i++) await data(servers.one.app, q);
    });
    expect(flood.statements).toEqual([]);
    expect(servers.one.caches.counters.get('entity_negative_hit', 'Kit') - negBefore).toBe(20);
  });

  it.skipIf(skip)('turns 200 concurrent requests for one cold entity into one SQL read', async () => {
    const q = '{ kit(id: 333) { id name } }';
    const { result, statements } = await countSql(database, () =>
      Promise.all(Array.from({ length: 200 }, () => gql(servers.one.app, q))),
    );
    for (const r of result) expect(r.data?.kit?.id).toBe('333');
    expect(statements).toHaveLength(1);
  });

  it.skipIf(skip)(
    'after update, delete and move, drops exactly the right keys and the next read is fresh on every server',
    async () => {
      // Warm a kit and the lists around it on server one (each backend moves its own kit).
      const id = backend === 'redis' ? '21' : '22';
      const { kit } = await data(servers.one.app, `{ kit(id: ${id}) { id name club { id } season { id } } }`);
      const q = (club: string) => `{ club(id: ${club}) { kits(first: 100) { edges { node { id name } } } } }`;
      const other = kit.club.id === '5' ? '6' : '5';
      const third = ['7', '8'].find((c) => c !== kit.club.id && c !== other)!;
      for (const c of [kit.club.id, other, third]) await data(servers.one.app, q(c));
      const hitsOnThird = async () => {
        const { statements } = await countSql(database, () => data(servers.one.app, q(third)));
        return statements.length;
      };
      expect(await hitsOnThird()).toBe(0);

      // Rename through server two: server one sees it.
      await data(
        servers.two.app,
        `mutation { updateKit(input: { id: ${id}, name: "Renamed kit" }) { id } }`,
        {},
        servers.admin,
      );
      expect((await data(servers.one.app, `{ kit(id: ${id}) { name } }`)).kit.name).toBe('Renamed kit');

      // Move it to `other`: both clubs' lists change, the third club's stays cached.
      await data(
        servers.two.app,
        `mutation { updateKit(input: { id: ${id}, clubId: ${other} }) { id } }`,
        {},
        servers.admin,
      );
      const from = await data(servers.one.app, q(kit.club.id));
      const to = await data(servers.one.app, q(other));
      expect(from.club.kits.edges.map((e: { node: { id: string } }) => e.node.id)).not.toContain(id);
      expect(to.club.kits.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(id);
      expect(await hitsOnThird()).toBe(0);

      // Delete it: gone from its list and by id.
      await data(servers.two.app, `mutation { deleteKit(id: ${id}) }`, {}, servers.admin);
      expect((await data(servers.one.app, `{ kit(id: ${id}) { id } }`)).kit).toBeNull();
      expect(
        (await data(servers.one.app, q(other))).club.kits.edges.map((e: { node: { id: string } }) => e.node.id),
      ).not.toContain(id);
      expect(await hitsOnThird()).toBe(0);
    },
  );

  it.skipIf(skip)('serves concurrent requests for different cold kits with one SQL read of kits', async () => {
    // Each request's loader batches its own kit; the cache merges the batches of one turn.
    const ids = [351, 352, 353, 354, 355, 356, 357, 358];
    const q = 'query ($id: ID!) { kit(id: $id) { id name } }';
    const { result, statements } = await countSql(database, () =>
      Promise.all(ids.map((id) => data(servers.one.app, q, { id: String(id) }))),
    );
    expect(result.map((r) => r.kit.id)).toEqual(ids.map(String));
    expect(statements.filter((s) => /from "kits"/.test(s))).toHaveLength(1);
  });

  it.skipIf(skip)(
    'merges the reads of one turn: one storage read, one fetch and one fill for every caller of a kind',
    async () => {
      const cache = servers.one.caches.entityCache;
      const asked: number[][] = [];
      const fetchKits = async (ids: readonly number[]) => {
        asked.push([...ids]);
        return new Map(ids.map((id) => [id, { id, v: `row ${id}` }]));
      };
      const sendCommand = servers.redis ? vi.spyOn(servers.redis, 'sendCommand') : undefined;
      const [a, b, c] = await Promise.all([
        cache.readThrough('Kit', [910_001, 910_002], fetchKits),
        cache.readThrough('Kit', [910_002, 910_003], fetchKits),
        cache.readThrough('Kit', [910_004], fetchKits),
      ]);
      expect(a).toEqual([
        { id: 910_001, v: 'row 910001' },
        { id: 910_002, v: 'row 910002' },
      ]);
      expect(b).toEqual([
        { id: 910_002, v: 'row 910002' },
        { id: 910_003, v: 'row 910003' },
      ]);
      expect(c).toEqual([{ id: 910_004, v: 'row 910004' }]);
      expect(asked.map((ids) => ids.sort())).toEqual([[910_001, 910_002, 910_003, 910_004]]);
      // On one Redis: one script call to read and lease, one to fill (a Cluster splits them by slot).
      if (sendCommand && !clusterMode()) expect(sendCommand.mock.calls.length).toBe(2);
      sendCommand?.mockRestore();
    },
  );

  it.skipIf(skip)(
    'does not merge reads of different fetches or kinds, and fails only the callers of a failed key',
    async () => {
      const cache = servers.one.caches.entityCache;
      const first: number[][] = [];
      const second: number[][] = [];
      const fetchFirst = async (ids: readonly number[]) => {
        first.push([...ids]);
        return new Map(ids.map((id) => [id, `first ${id}`]));
      };
      const fetchSecond = async (ids: readonly number[]) => {
        second.push([...ids]);
        return new Map(ids.map((id) => [id, `second ${id}`]));
      };
      const failing = async (): Promise<Map<number, string>> => {
        throw new Error('the database is down');
      };
      // Warm: answered from the storage, so a failing fetch merged with it is never asked for it.
      await cache.readThrough('Club', [920_001], fetchFirst);
      first.length = 0;
      const [x, y, z, warm, cold] = await Promise.allSettled([
        cache.readThrough('Kit', [920_010], fetchFirst),
        cache.readThrough('Kit', [920_011], fetchSecond),
        cache.readThrough('Season', [920_012], fetchFirst),
        cache.readThrough('Club', [920_001], failing),
        cache.readThrough('Club', [920_002], failing),
      ]);
      expect(x).toEqual({ status: 'fulfilled', value: ['first 920010'] });
      expect(y).toEqual({ status: 'fulfilled', value: ['second 920011'] });
      expect(z).toEqual({ status: 'fulfilled', value: ['first 920012'] });
      // Two fetches, one per namespace (in either order: on a Cluster their reads answer from other nodes).
      expect(first).toHaveLength(2);
      expect(first).toEqual(expect.arrayContaining([[920_010], [920_012]]));
      expect(second).toEqual([[920_011]]);
      expect(warm).toEqual({ status: 'fulfilled', value: ['first 920001'] });
      expect(cold).toMatchObject({ status: 'rejected', reason: { message: 'the database is down' } });
    },
  );

  it.skipIf(skip)(
    "answers a caller whose keys are cached without waiting for a merged neighbour's statement",
    async () => {
      const cache = servers.one.caches.entityCache;
      await cache.readThrough('Kit', [930_001], async (ids) => new Map(ids.map((id) => [id, `row ${id}`])));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const slow = async (ids: readonly number[]) => {
        await gate;
        return new Map(ids.map((id) => [id, `row ${id}`]));
      };
      const cached = cache.readThrough('Kit', [930_001], slow);
      const cold = cache.readThrough('Kit', [930_002], slow);
      const held = new Promise((resolve) => setTimeout(() => resolve('held'), 2000));
      expect(await Promise.race([cached, held])).toEqual(['row 930001']);
      release();
      expect(await cold).toEqual(['row 930002']);
    },
  );

  it.skipIf(skip)(
    'refuses a stale fill: a row read before a write is not put back after its invalidation',
    async () => {
      const cache = servers.one.caches.entityCache;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let reached!: () => void;
      const fetching = new Promise<void>((r) => (reached = r));
      const refusedBefore = servers.one.caches.counters.get('entity_fill_refused', 'Kit');
      // A reader misses, takes the lease, reads "old" and is held before filling…
      const reader = cache.readThrough('Kit', [PROBE], async () => {
        reached();
        await gate;
        return new Map([[PROBE, { v: 'old' }]]);
      });
      await fetching;
      // …a write commits and invalidates…
      await cache.invalidate([{ namespace: 'Kit', id: PROBE }]);
      release();
      expect(await reader).toEqual([{ v: 'old' }]);
      expect(servers.one.caches.counters.get('entity_fill_refused', 'Kit') - refusedBefore).toBe(1);
      // …so the next reader goes to the source and sees the new value.
      const next = await cache.readThrough('Kit', [PROBE], async () => new Map([[PROBE, { v: 'new' }]]));
      expect(next).toEqual([{ v: 'new' }]);
      expect(await cache.readThrough('Kit', [PROBE], async () => new Map())).toEqual([{ v: 'new' }]);
    },
  );

  it.skipIf(skip)('does not let a read that started after an invalidation join one from before it', async () => {
    const cache = servers.one.caches.entityCache;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const early = cache.readThrough('Kit', [PROBE_2], async () => {
      await gate;
      return new Map([[PROBE_2, 'old']]);
    });
    await new Promise((r) => setTimeout(r, 10));
    await cache.invalidate([{ namespace: 'Kit', id: PROBE_2 }]);
    const late = cache.readThrough('Kit', [PROBE_2], async () => new Map([[PROBE_2, 'new']]));
    expect(await late).toEqual(['new']);
    release();
    expect(await early).toEqual(['old']);
  });
});

describe('entity cache when Redis fails', () => {
  const url = inject('redisUrl');
  const seeds = inject('redisCluster');
  const absent = redisAvailable() ? false : redisSkipReason();
  it.skipIf(absent)(
    `falls back to Postgres for the batch and the request succeeds${absent ? ` (skipped: ${absent})` : ''}`,
    async () => {
      // The run's Redis, with a client of the API's own kind (fail-fast, short timeout).
      const redis = seeds
        ? createRedis({ clusterNodes: seeds.map(hostPort), timeoutMs: 200 })
        : createRedis({ url: url!, timeoutMs: 200 });
      expect(await connectRedis(redis)).toBeNull();
      const prefix = newPrefix();
      const { app, caches } = await cachedApp(database, {
        backend: 'redis',
        redis,
        prefix,
        responseCache: false,
        entityCache: true,
        entityL1Mb: 0,
      });
      const q = '{ club(id: 3) { name kits(first: 5) { edges { node { name } } } } }';
      const before = await data(app, q);
      redis.disconnect(); // mid-run: every later command fails at once
      const errorsBefore = caches.counters.get('redis_error');
      const { result, statements } = await countSql(database, () => gql(app, q));
      expect(result.errors).toBeUndefined();
      expect(result.data).toEqual(before);
      expect(statements.length).toBeGreaterThan(0);
      expect(caches.counters.get('redis_error') - errorsBefore).toBeGreaterThan(0);
      const cleaner = testRedis();
      await dropPrefix(cleaner, prefix);
      cleaner.disconnect();
    },
  );
});
