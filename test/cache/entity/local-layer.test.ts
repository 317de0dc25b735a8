/**
 * The entity cache's in-process layer (ENTITY_L1_MB), on a real Redis with two instances: a warm
 * read costs no Redis command; once a write on either instance has answered, neither serves the
 * old value from its layer; and an instance whose link to Redis is silently lost (a held TCP link:
 * no error, no close) stops using its layer rather than serving what others' writes dropped.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Database } from '../../../src/db/client.js';
import { countSql, data, testApp, tokensFor } from '../../helpers/app.js';
import type { CachedApp } from '../../helpers/caches.js';
import { proxiedPair } from '../../helpers/proxied-pair.js';
import { KIT, RENAME_KIT } from '../../helpers/stale-reads.js';

const CATALOGUE = '{ kits(first: 20) { totalCount edges { node { id name club { name } season { label } } } } }';

let database: Database;
let admin = '';
const pair = proxiedPair({ responseCache: false, entityCache: true, entityL1Mb: 8 });
const { skip } = pair;
let a: CachedApp; // reaches Redis directly
let b: CachedApp; // reaches Redis through the proxy
beforeAll(async () => {
  if (skip) return;
  ({ a, b, database } = pair);
  admin = (await tokensFor(a.app, ['admin'])).get('admin')!.token;
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
      const scripts = vi.spyOn(pair.direct, 'sendCommand');
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
      const name = `L1 round ${round} ${pair.prefix}`;
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
    pair.proxy.holdExisting(); // no error, no close: the subscription just stops delivering
    try {
      const name = `Renamed while b is held ${pair.prefix}`;
      await data(a.app, RENAME_KIT, { id: '45', name }, admin);
      expect(b.caches.entityLocal!.channel.live()).toBe(false);
      // b's layer still holds the old row, but b does not use it: Postgres answers.
      expect(await nameOn(b, '45')).toBe(name);
    } finally {
      pair.proxy.heal();
    }
    await b.caches.entityLocal!.channel.ready(5000);
    expect(b.caches.entityLocal!.channel.live()).toBe(true);
    expect(await nameOn(b, '45')).toBe(`Renamed while b is held ${pair.prefix}`);
  });
});
