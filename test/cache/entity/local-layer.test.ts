/**
 * The entity cache's in-process layer (ENTITY_L1_MB), on a real Redis with two instances: a warm
 * read costs no Redis command; once a write on either instance has answered, neither serves the
 * old value from its layer; and an instance whose link to Redis is silently lost (a held TCP link:
 * no error, no close) stops using its layer rather than serving what others' writes dropped.
 */
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { connectRedis, createRedis, type RedisClient } from '../../../src/cache/redis/client.js';
import type { Database } from '../../../src/db/client.js';
import { countSql, data, testApp, tokensFor } from '../../helpers/app.js';
import { cachedApp, clusterMode, dropPrefix, newPrefix, testRedis, type CachedApp } from '../../helpers/caches.js';
import { openTestDatabase } from '../../helpers/database.js';
import { KIT, RENAME_KIT } from '../../helpers/stale-reads.js';
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js';

const url = inject('redisUrl');
// The layer needs a single Redis (a Cluster's PUBLISH counts one node's receivers): not in cluster mode.
const skip = clusterMode()
  ? 'the in-process layer runs on a single Redis only'
  : url
    ? false
    : inject('redisAbsentReason');

const CATALOGUE = '{ kits(first: 20) { totalCount edges { node { id name club { name } season { label } } } } }';

let database: Database;
let direct: RedisClient;
let viaProxy: RedisClient;
let proxy: TcpProxy;
let prefix = '';
let a: CachedApp; // reaches Redis directly
let b: CachedApp; // reaches Redis through the proxy
let admin = '';

beforeAll(async () => {
  database = await openTestDatabase();
  if (skip) return;
  prefix = newPrefix();
  const u = new URL(url!);
  proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
  viaProxy = createRedis({ url: `redis://127.0.0.1:${proxy.port}`, timeoutMs: 200 });
  expect(await connectRedis(viaProxy)).toBeNull();
  direct = testRedis();
  const options = { backend: 'redis', prefix, responseCache: false, entityCache: true, entityL1Mb: 8 } as const;
  a = await cachedApp(database, { ...options, redis: direct });
  b = await cachedApp(database, { ...options, redis: viaProxy, redisProbeIntervalMs: 100 });
  admin = (await tokensFor(a.app, ['admin'])).get('admin')!.token;
});
afterAll(async () => {
  await a?.caches.close();
  await b?.caches.close();
  viaProxy?.disconnect();
  await proxy?.close();
  if (direct) {
    await dropPrefix(direct, prefix);
    direct.disconnect();
  }
  await database?.close();
});

const nameOn = async (app: CachedApp, id: string) => (await data(app.app, KIT, { id })).kit.name as string;

describe('the entity cache in process (L1)', () => {
  it.skipIf(skip)(
    `answers a warm query from process memory: no SQL, no Redis script, the database's answer${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      // Warm it while the layer is in use (on a busy machine it may pause, and a read then skips it).
      for (let i = 0; i < 2; i++) {
        await a.caches.entityLocal!.channel.ready(5000);
        await data(a.app, CATALOGUE);
      }
      await a.caches.entityLocal!.channel.ready(5000);
      const scripts = vi.spyOn(direct, 'sendCommand');
      const localBefore = a.caches.counters.get('entity_local_hit');
      try {
        const warm = await countSql(database, () => data(a.app, CATALOGUE));
        expect(warm.statements).toEqual([]);
        expect(scripts.mock.calls.filter(([c]) => /^eval/.test(c.name))).toEqual([]);
        expect(a.caches.counters.get('entity_local_hit') - localBefore).toBeGreaterThan(20);
        expect(warm.result).toEqual(await data(testApp(database), CATALOGUE));
      } finally {
        scripts.mockRestore();
      }
    },
  );

  it.skipIf(skip)('never serves from either layer what a write on the other instance dropped', async () => {
    for (let round = 0; round < 20; round++) {
      const [writer, reader] = round % 2 ? [a, b] : [b, a];
      const id = String(40 + (round % 4));
      await nameOn(reader, id);
      expect(reader.caches.entityLocal!.layer.size).toBeGreaterThan(0);
      const name = `L1 round ${round} ${prefix}`;
      await data(writer.app, RENAME_KIT, { id, name }, admin);
      // The writer's answer is back: both layers must already have dropped the old row.
      expect(await nameOn(reader, id)).toBe(name);
      expect(await nameOn(writer, id)).toBe(name);
    }
  });

  it.skipIf(skip)('stops using its layer when its link to Redis is silently lost, and starts empty after', async () => {
    await nameOn(b, '45');
    expect(await nameOn(b, '45')).toBeDefined();
    expect(b.caches.entityLocal!.channel.live()).toBe(true);
    proxy.holdExisting(); // no error, no close: the subscription just stops delivering
    try {
      const name = `Renamed while b is held ${prefix}`;
      await data(a.app, RENAME_KIT, { id: '45', name }, admin);
      expect(b.caches.entityLocal!.channel.live()).toBe(false);
      // b's layer still holds the old row, but b does not use it: Postgres answers.
      expect(await nameOn(b, '45')).toBe(name);
    } finally {
      proxy.heal();
    }
    await b.caches.entityLocal!.channel.ready(5000);
    expect(b.caches.entityLocal!.channel.live()).toBe(true);
    expect(await nameOn(b, '45')).toBe(`Renamed while b is held ${prefix}`);
  });
});
