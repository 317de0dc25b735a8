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
