/**
 * The response cache's in-process layer (RESPONSE_L1_MB), on a real Redis with two instances: a
 * warm hit costs no Redis command at all; once a write on either instance has answered, neither
 * serves the old answer from its layer; an admin purge empties every layer; and an instance whose
 * link to Redis is silently lost (a held TCP link: no error, no close) stops using its layer rather
 * than serving what others' writes invalidated, and uses it again once the link heals.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { isServed } from '../../../src/cache/response/index.js';
import { connectRedis, createRedis, type RedisClient } from '../../../src/cache/redis/client.js';
import type { Database } from '../../../src/db/client.js';
import { data, testApp, tokensFor } from '../../helpers/app.js';
import { cachedApp, keysUnder, viaFrontDoor, type CachedApp } from '../../helpers/caches.js';
import { proxiedPair } from '../../helpers/proxied-pair.js';
import { KIT_CLUB, RENAME_KIT } from '../../helpers/stale-reads.js';

const ME = '{ me { id username collection(first: 5) { totalCount edges { node { id kit { id name } } } } } }';

let database: Database;
let admin = '';
let user = '';
const pair = proxiedPair({ responseCache: true, entityCache: false, responseL1Mb: 8 });
const { skip } = pair;
let a: CachedApp; // reaches Redis directly
let b: CachedApp; // reaches Redis through the proxy
beforeAll(async () => {
  if (skip) return;
  ({ a, b, database } = pair);
  const tokens = await tokensFor(a.app, ['admin', 'user5']);
  admin = tokens.get('admin')!.token;
  user = tokens.get('user5')!.token;
});

async function ask(app: CachedApp, query: string, variables: Record<string, unknown> = {}, token?: string) {
  const { cache, text } = await viaFrontDoor(app, query, variables, token);
  return { cache, body: text, data: (JSON.parse(text) as { data: unknown }).data };
}
const kitName = async (app: CachedApp, id: string) =>
  ((await ask(app, KIT_CLUB, { id })).data as { kit: { name: string } }).kit.name;
const localHits = (app: CachedApp) => app.caches.counters.get('response_local_hit');

/**
 * The Redis commands `work` sends on `client`, but PUBLISH, which the drop channel sends on
 * connections of its own (left out in case a drop is announced on the client while its thread is
 * restarting).
 */
async function commandsDuring(client: RedisClient, work: () => Promise<unknown>): Promise<string[]> {
  const sent = vi.spyOn(client, 'sendCommand');
  try {
    await work();
    return sent.mock.calls.map(([c]) => c.name.toLowerCase()).filter((name) => name !== 'publish');
  } finally {
    sent.mockRestore();
  }
}

describe('the response cache in process (L1)', () => {
  it.skipIf(skip)(
    `answers a warm hit from process memory: no Redis command, the same bytes${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      await a.caches.responseLocal!.channel.ready(5000);
      const first = await ask(a, KIT_CLUB, { id: '31' });
      expect(first.cache).toBe('MISS');
      // Each instance reads the entry from Redis once (with its tags and expiry, one script), then
      // from its own layer.
      await a.caches.responseLocal!.channel.ready(5000);
      let warm: Awaited<ReturnType<typeof ask>> | undefined;
      expect(await commandsDuring(pair.direct, async () => (warm = await ask(a, KIT_CLUB, { id: '31' })))).toEqual([
        'evalsha',
      ]);
      expect(warm!.cache).toBe('HIT');
      const before = localHits(a);
      expect(await commandsDuring(pair.direct, async () => (warm = await ask(a, KIT_CLUB, { id: '31' })))).toEqual([]);
      expect(warm!.cache).toBe('HIT');
      expect(localHits(a) - before).toBe(1);
      expect(warm!.data).toEqual(await data(testApp(database), KIT_CLUB, { id: '31' }));
      // From memory the lean hit answers without a promise (the front door writes it with no await).
      const direct = a.caches.responseCache!.serve(
        {
          method: 'POST',
          url: '/graphql',
          header: (name) => (name === 'content-type' ? 'application/json' : undefined),
          body: Buffer.from(JSON.stringify({ query: KIT_CLUB, variables: { id: '31' } })),
        },
        async () => {},
      );
      if (direct instanceof Promise) throw new Error('a hit from memory was answered through a promise');
      expect(isServed(direct) && direct.body?.toString()).toBe(warm!.body);

      await b.caches.responseLocal!.channel.ready(5000);
      const fromRedis = await ask(b, KIT_CLUB, { id: '31' });
      expect(fromRedis.cache).toBe('HIT');
      expect(fromRedis.data).toEqual(first.data);
      const onB = localHits(b);
      expect(await commandsDuring(pair.viaProxy, async () => (warm = await ask(b, KIT_CLUB, { id: '31' })))).toEqual(
        [],
      );
      expect(warm!.body).toBe(fromRedis.body);
      expect(localHits(b) - onB).toBe(1);
    },
  );

  it.skipIf(skip)('keeps a private answer per user, also without a Redis command', async () => {
    await a.caches.responseLocal!.channel.ready(5000);
    const mine = await ask(a, ME, {}, user);
    expect(mine.cache).toBe('MISS');
    expect((await ask(a, ME, {}, user)).cache).toBe('HIT'); // from Redis, and kept
    let again: Awaited<ReturnType<typeof ask>> | undefined;
    expect(await commandsDuring(pair.direct, async () => (again = await ask(a, ME, {}, user)))).toEqual([]);
    expect(again!.cache).toBe('HIT');
    expect(again!.data).toEqual(mine.data);
    // Another user is another key: theirs, not this one.
    const theirs = await ask(a, ME, {}, admin);
    expect(theirs.cache).toBe('MISS');
    expect(theirs.data).not.toEqual(mine.data);
  });

  it.skipIf(skip)('never serves from either layer what a write on the other instance invalidated', async () => {
    // How long each write's drop took to reach both layers (the write answers after it).
    const delivered: number[] = [];
    for (const app of [a, b]) app.caches.onDropDelivered((ms) => delivered.push(ms));
    const unacknowledged = () =>
      a.caches.counters.get('l1_drop_unacknowledged') + b.caches.counters.get('l1_drop_unacknowledged');
    const before = unacknowledged();
    for (let round = 0; round < 20; round++) {
      const [writer, reader] = round % 2 ? [a, b] : [b, a];
      const id = String(32 + (round % 4));
      // A miss (stored in Redis), then read from Redis and kept, on each instance.
      for (const app of [reader, reader, writer, writer]) await kitName(app, id);
      await reader.caches.responseLocal!.channel.ready(5000);
      const before = localHits(reader);
      await kitName(reader, id);
      expect(localHits(reader) - before).toBe(1); // the old answer is in the reader's layer
      const name = `Response L1 round ${round} ${pair.prefix}`;
      await data(writer.app, RENAME_KIT, { id, name }, admin);
      expect(reader.caches.responseLocal!.channel.live()).toBe(true); // so the read below may use the layer
      // The writer's answer is back: both layers must already have dropped the old answer.
      expect(await kitName(reader, id)).toBe(name);
      expect(await kitName(writer, id)).toBe(name);
    }
    // Every rename's drop was acknowledged by both instances, none waited out.
    expect(delivered).toHaveLength(20);
    expect(unacknowledged() - before).toBe(0);
  });

  it.skipIf(skip)(
    "keeps what a lookup read while another answer's tags were dropped, and not what it read while one of its own were",
    async () => {
      const channel = a.caches.responseLocal!.channel;
      await channel.ready(5000);
      for (const [id, dropped, kept] of [
        ['41', ['Kit:999', 'Club.search'], true],
        ['42', ['Kit:42'], false],
      ] as const) {
        expect((await ask(b, KIT_CLUB, { id })).cache).toBe('MISS'); // stored in Redis by the other instance
        // The drop is made while `a`'s lookup is on its way to Redis, after its read began.
        const client = pair.direct;
        const send = client.sendCommand;
        const spy = vi
          .spyOn(client, 'sendCommand')
          .mockImplementation((...args: Parameters<RedisClient['sendCommand']>): unknown => {
            channel.bump({ layer: 'response', keys: [], groups: dropped });
            return Reflect.apply(send, client, args);
          });
        try {
          expect((await ask(a, KIT_CLUB, { id })).cache).toBe('HIT'); // from Redis
        } finally {
          spy.mockRestore();
        }
        const before = localHits(a);
        const sent = await commandsDuring(pair.direct, () => ask(a, KIT_CLUB, { id }));
        expect({ fromMemory: localHits(a) - before, sent }, id).toEqual(
          kept ? { fromMemory: 1, sent: [] } : { fromMemory: 0, sent: ['evalsha'] },
        );
      }
    },
  );

  it.skipIf(skip)('keeps an entry no longer than Redis does', async () => {
    await a.caches.responseLocal!.channel.ready(5000);
    expect((await ask(a, KIT_CLUB, { id: '38' })).cache).toBe('MISS');
    // Redis keeps every entry a moment only (as it does a write it cannot fully vouch for).
    const entries = (await keysUnder(pair.direct, pair.prefix)).filter((k) => k.includes('}:r:'));
    await Promise.all(entries.map((k) => pair.direct.pexpire(k, 300)));
    expect((await ask(a, KIT_CLUB, { id: '38' })).cache).toBe('HIT'); // from Redis, and kept
    const before = localHits(a);
    expect((await ask(a, KIT_CLUB, { id: '38' })).cache).toBe('HIT');
    expect(localHits(a) - before).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await ask(a, KIT_CLUB, { id: '38' })).cache).toBe('MISS');
    expect(localHits(a) - before).toBe(1);
  });

  it.skipIf(skip)("empties every instance's layer on an admin purge", async () => {
    await ask(b, KIT_CLUB, { id: '36' });
    await ask(b, KIT_CLUB, { id: '36' });
    expect(b.caches.responseLocal!.layer.size).toBeGreaterThan(0);
    await a.caches.responseStore!.clear();
    // Neither serves from its layer what it held (the drop channel's thread marked it dropped)...
    const onB = localHits(b);
    expect((await ask(b, KIT_CLUB, { id: '36' })).cache).toBe('MISS');
    expect(localHits(b)).toBe(onB);
    // ...and each frees that memory once its own thread hears of the purge.
    await vi.waitFor(() => expect(b.caches.responseLocal!.layer.size).toBe(0));
    expect(a.caches.responseLocal!.layer.size).toBe(0);
  });

  it.skipIf(skip)(
    'a write whose drop cannot be announced answers only once no instance that lost Redis with it serves from its layer',
    async () => {
      // c and b both reach Redis through the proxy: holding it cuts both off (no error, no close).
      const viaProxy = createRedis({ url: `redis://127.0.0.1:${pair.proxy.port}`, timeoutMs: 200 });
      expect(await connectRedis(viaProxy)).toBeNull();
      const c = await cachedApp(database, {
        backend: 'redis',
        redis: viaProxy,
        prefix: pair.prefix,
        responseCache: true,
        entityCache: false,
        responseL1Mb: 8,
        redisProbeIntervalMs: 100,
      });
      try {
        for (const app of [b, c]) await app.caches.responseLocal!.channel.ready(5000);
        for (let i = 0; i < 3; i++) await kitName(b, '39');
        const before = localHits(b);
        await kitName(b, '39');
        expect(localHits(b) - before).toBe(1); // b's layer holds the old answer
        pair.proxy.holdExisting();
        try {
          const name = `Renamed while Redis was away ${pair.prefix}`;
          await data(c.app, RENAME_KIT, { id: '39', name }, admin);
          // c could tell nobody. Its write waited for another instance to deliver its durable record
          // (the invalidator's hand-over, 1 s), which also outlasts b's use of its layer (a heartbeat
          // must have come back within 1 s): so b asks Postgres.
          expect(b.caches.responseLocal!.channel.live()).toBe(false);
          expect(await kitName(b, '39')).toBe(name);
        } finally {
          pair.proxy.heal();
        }
      } finally {
        await c.caches.close();
        viaProxy.disconnect();
      }
      await vi.waitFor(() => expect(b.caches.breaker!.current).toBe('closed'), { timeout: 5000, interval: 20 });
    },
  );

  it.skipIf(skip)(
    'stops using its layer when its link to Redis is silently lost, and uses it again after',
    async () => {
      await b.caches.responseLocal!.channel.ready(5000);
      await kitName(b, '37'); // a miss: stored in Redis
      await kitName(b, '37'); // read from Redis, and kept
      const before = localHits(b);
      await kitName(b, '37');
      expect(localHits(b) - before).toBe(1);
      const waitedOut = a.caches.counters.get('l1_drop_unacknowledged');
      pair.proxy.holdExisting(); // no error, no close: the subscription just stops delivering
      try {
        const name = `Renamed while b is held ${pair.prefix}`;
        await data(a.app, RENAME_KIT, { id: '37', name }, admin);
        // a waited for b's acknowledgement until b could no longer be using its layer.
        expect(a.caches.counters.get('l1_drop_unacknowledged') - waitedOut).toBe(1);
        expect(b.caches.responseLocal!.channel.live()).toBe(false);
        // b's layer still holds the old answer, but b does not use it: Postgres answers.
        const held = localHits(b);
        expect(await kitName(b, '37')).toBe(name);
        expect(localHits(b)).toBe(held);
      } finally {
        pair.proxy.heal();
      }
      await b.caches.responseLocal!.channel.ready(5000);
      expect(b.caches.responseLocal!.channel.live()).toBe(true);
      expect(await kitName(b, '37')).toBe(`Renamed while b is held ${pair.prefix}`);
      // b's breaker opened while its commands timed out: the layer is trusted again once it closed.
      await vi.waitFor(() => expect(b.caches.breaker!.current).toBe('closed'), { timeout: 5000, interval: 20 });
      for (let i = 0; i < 2; i++) await kitName(b, '37');
      const healed = localHits(b);
      expect(await kitName(b, '37')).toBe(`Renamed while b is held ${pair.prefix}`);
      expect(localHits(b) - healed).toBe(1);
    },
  );
});
