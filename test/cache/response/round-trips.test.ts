/**
 * What a request costs in Redis commands: a public hit is one MGET (entry and its bucket's clock
 * together), a miss adds the fill lease and one write script (with the in-process layer, whose
 * lookup is a script, the lookup takes the lease: two commands), a private hit is still one MGET (who
 * the viewer is comes from SQL), and an invalidation is one script (one per bucket on a Cluster),
 * however many tags and entries.
 * Commands are counted at `sendCommand`, which ioredis calls once per command, also when it
 * auto-pipelines them.
 */
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { Database } from '../../../src/db/client.js';
import { data, gql, tokensFor } from '../../helpers/app.js';
import {
  cachedApp,
  clusterMode,
  dataNodes,
  dropPrefix,
  keysUnder,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
  viaFrontDoor,
  type CachedApp,
} from '../../helpers/caches.js';
import { openTestDatabase } from '../../helpers/database.js';

const skip = redisAvailable() ? false : redisSkipReason();
const BUCKETS = 16;
const SCRIPTS = ['eval', 'evalsha'];
/** Scripts per invalidation: one for every bucket on a single Redis, one per bucket on a Cluster. */
const INVALIDATION_SCRIPTS = clusterMode() ? BUCKETS : 1;

const PUBLIC = 'query($id: ID!) { kit(id: $id) { id name club { id name } brand { id name } } }';
const PRIVATE = '{ me { id username collection(first: 5) { totalCount edges { node { id kit { id name } } } } } }';
const RENAME_KIT = 'mutation($id: ID!, $name: String!) { updateKit(input: { id: $id, name: $name }) { id name } }';
const MOVE_KIT =
  'mutation($id: ID!, $clubId: ID!) { updateKit(input: { id: $id, clubId: $clubId }) { id club { id } } }';

let database: Database;
let redis: RedisClient;
let prefix: string;
let server: CachedApp;
let sent: MockInstance<RedisClient['sendCommand']>;
let admin: string;
let user: string;

/** The names of the Redis commands `work` sends, once every write it started has landed. */
async function commandsDuring(work: () => Promise<unknown>): Promise<string[]> {
  await server.caches.settled();
  sent.mockClear();
  await work();
  await server.caches.settled();
  return sent.mock.calls.map(([command]) => command.name.toLowerCase());
}

beforeAll(async () => {
  if (skip) return;
  database = await openTestDatabase();
  redis = testRedis();
  await redis.ping(); // connected and ready: nothing below goes through the offline queue
  prefix = newPrefix();
  // The Redis level itself: no in-process layer in front of it (test/cache/response/local-layer.test.ts).
  server = await cachedApp(database, { backend: 'redis', redis, prefix, responseL1Mb: 0 });
  const tokens = await tokensFor(server.app, ['admin', 'user5']);
  admin = tokens.get('admin')!.token;
  user = tokens.get('user5')!.token;
  sent = vi.spyOn(redis, 'sendCommand');
});
afterAll(async () => {
  sent?.mockRestore();
  if (redis) {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
  await database?.close();
});

describe('Redis commands per request', () => {
  it.skipIf(skip)(`a public hit costs one command: the MGET${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    const miss = await gql(server.app, PUBLIC, { id: '21' });
    expect(miss.extensions?.responseCache).toMatchObject({ hit: false, didCache: true });

    let hit: Awaited<ReturnType<typeof gql>> | undefined;
    const commands = await commandsDuring(async () => (hit = await gql(server.app, PUBLIC, { id: '21' })));
    expect(hit!.extensions?.responseCache).toMatchObject({ hit: true, scope: 'PUBLIC' });
    expect(hit!.data).toEqual(miss.data);
    expect(commands).toEqual(['mget']);
    // Entry and bucket clock, in the same bucket's hash tag.
    const [mget] = sent.mock.calls[0]!;
    const keys = mget.args.map(String);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/\}:r:[0-9a-f]{32}$/);
    expect(keys[1]).toMatch(/\}:c$/);
    expect(keys[0]!.split('}:')[0]).toBe(keys[1]!.split('}:')[0]);
  });

  it.skipIf(skip)(
    'a miss costs three without the in-process layer: the MGET, the fill lease and the write script',
    async () => {
      // Every bucket started (a purge starts each one's clock): else the first lookup in a bucket
      // costs one more, the script that starts it.
      await server.caches.responseStore!.clear();
      let miss: Awaited<ReturnType<typeof gql>> | undefined;
      const commands = await commandsDuring(async () => (miss = await gql(server.app, PUBLIC, { id: '22' })));
      expect(miss!.extensions?.responseCache).toMatchObject({ hit: false, didCache: true });
      expect(commands).toHaveLength(3);
      expect(commands[0]).toBe('mget');
      expect(SCRIPTS).toContain(commands[1]); // the lease: SET NX, or this server's already
      expect(SCRIPTS).toContain(commands[2]);
      expect((await gql(server.app, PUBLIC, { id: '22' })).extensions?.responseCache).toMatchObject({ hit: true });
    },
  );

  it.skipIf(skip || clusterMode())(
    `with the in-process layer a miss costs two: the lookup, which takes the fill lease, and the write script${clusterMode() ? ' (skipped: the layer runs on a single Redis only)' : ''}`,
    async () => {
      const layered = await cachedApp(database, { backend: 'redis', redis, prefix: newPrefix() });
      try {
        await layered.caches.responseLocal!.channel.ready(5_000);
        await layered.caches.responseStore!.clear(); // every bucket's clock started
        await layered.caches.settled();
        sent.mockClear();
        const miss = await viaFrontDoor(layered, PUBLIC, { id: '26' });
        expect(miss).toMatchObject({ status: 200, cache: 'MISS' });
        const calls = sent.mock.calls.map(([command]) => command);
        expect(calls.map((c) => c.name.toLowerCase()).every((name) => SCRIPTS.includes(name))).toBe(true);
        expect(calls).toHaveLength(2);
        // The lookup names the entry's lease among its keys: it took the lease on the miss.
        const lookupKeys = calls[0]!.args.map(String);
        expect(lookupKeys.some((k) => /\}:l:[0-9a-f]{32}$/.test(k))).toBe(true);
        expect((await viaFrontDoor(layered, PUBLIC, { id: '26' })).cache).toBe('HIT');
      } finally {
        await layered.caches.close();
      }
    },
  );

  it.skipIf(skip)(
    'a miss whose answer is not cached gives its fill lease back: no other server waits for a fill',
    async () => {
      await server.caches.responseStore!.clear(); // every bucket's clock started (the lookup is the MGET)
      const leaseKeys = async () => (await keysUnder(redis, prefix)).filter((k) => /\}:l:/.test(k));
      // (ioredis may report an auto-pipelined script call twice: calls are told apart by their key.)
      const lease = vi.spyOn(redis, 'kvResponseLease');
      const release = vi.spyOn(redis, 'kvResponseRelease');
      const keysOf = (spy: typeof lease) => new Set(spy.mock.calls.map((call) => String(call[1])));
      try {
        // A malformed id: an error in the result, so nothing is written.
        const failed = await gql(server.app, PUBLIC, { id: 'not-a-number' });
        expect(failed.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
        await server.caches.settled();
        // It took the lease on its miss, and gave that lease back.
        const taken = [...keysOf(lease)];
        expect(taken).toHaveLength(1);
        expect(taken[0]).toMatch(/\}:l:[0-9a-f]{32}$/);
        expect([...keysOf(release)]).toEqual(taken);
        expect(await leaseKeys()).toEqual([]);
        // A miss that writes gives it back with its write: nothing is released.
        lease.mockClear();
        release.mockClear();
        await gql(server.app, PUBLIC, { id: '27' });
        await server.caches.settled();
        expect(keysOf(lease).size).toBe(1);
        expect(release).not.toHaveBeenCalled();
        expect(await leaseKeys()).toEqual([]);
      } finally {
        lease.mockRestore();
        release.mockRestore();
      }
    },
  );

  it.skipIf(skip)('a private hit costs one command too: the viewer is looked up in SQL, not Redis', async () => {
    const miss = await gql(server.app, PRIVATE, {}, user);
    expect(miss.extensions?.responseCache).toMatchObject({ hit: false, didCache: true, scope: 'PRIVATE' });
    expect(miss.data?.me.username).toBe('user5');

    let hit: Awaited<ReturnType<typeof gql>> | undefined;
    const commands = await commandsDuring(async () => (hit = await gql(server.app, PRIVATE, {}, user)));
    expect(hit!.extensions?.responseCache).toMatchObject({ hit: true, scope: 'PRIVATE' });
    expect(hit!.data).toEqual(miss.data);
    expect(commands).toEqual(['mget']);
  });

  it.skipIf(skip)(
    `an invalidating mutation costs one script (one per bucket on a Cluster: ${BUCKETS}), however many tags and entries`,
    async () => {
      // Something to drop: each kit's answer lives in one bucket.
      await data(server.app, PUBLIC, { id: '23' });
      await data(server.app, PUBLIC, { id: '24' });

      // A rename drops the kit and the search lists: two tags, one cached answer under them.
      const invalidationsBefore = server.caches.counters.get('response_invalidation');
      const renamed = await commandsDuring(() =>
        data(server.app, RENAME_KIT, { id: '23', name: 'Renamed for round trips' }, admin),
      );
      const renameTags = server.caches.counters.get('response_invalidation') - invalidationsBefore;
      expect(renameTags).toBe(2);
      expect(renamed.filter((name) => SCRIPTS.includes(name))).toHaveLength(INVALIDATION_SCRIPTS);
      expect(renamed).toHaveLength(INVALIDATION_SCRIPTS);

      // A move drops every list the kit leaves and joins: many more tags, still as many calls.
      const { kit } = await data(server.app, 'query($id: ID!) { kit(id: $id) { club { id } } }', { id: '24' });
      const otherClub = kit.club.id === '1' ? '2' : '1';
      const movesBefore = server.caches.counters.get('response_invalidation');
      const moved = await commandsDuring(() => data(server.app, MOVE_KIT, { id: '24', clubId: otherClub }, admin));
      const moveTags = server.caches.counters.get('response_invalidation') - movesBefore;
      expect(moveTags).toBeGreaterThan(renameTags + 4);
      expect(moved.filter((name) => SCRIPTS.includes(name))).toHaveLength(INVALIDATION_SCRIPTS);
      expect(moved).toHaveLength(INVALIDATION_SCRIPTS);

      // And the entries really went: both kits are misses again, with their new data.
      const after23 = await gql(server.app, PUBLIC, { id: '23' });
      const after24 = await gql(server.app, PUBLIC, { id: '24' });
      expect(after23.extensions?.responseCache).toMatchObject({ hit: false });
      expect(after23.data?.kit.name).toBe('Renamed for round trips');
      expect(after24.extensions?.responseCache).toMatchObject({ hit: false });
      expect(after24.data?.kit.club.id).toBe(otherClub);
      await server.caches.settled();
    },
  );

  it.skipIf(skip)(
    'sends its invalidation in one round trip when no bucket holds an entry to drop (per master on a Cluster)',
    async () => {
      await server.caches.settled(); // no write of an earlier request still on its way
      // Every master owns at least one bucket (test/cache/response/bucket-spread.test.ts), so each
      // master's connection gets its buckets' scripts in one write. Kit 25 has no cached answer.
      const writes = dataNodes(redis).map((node) => vi.spyOn(node.stream, 'write'));
      try {
        const commands = await commandsDuring(() =>
          data(server.app, RENAME_KIT, { id: '25', name: 'One round trip' }, admin),
        );
        expect(commands).toHaveLength(INVALIDATION_SCRIPTS);
        // On a Cluster a second write follows on each master: the WAIT for its replicas (replication.ts).
        for (const write of writes) expect(write).toHaveBeenCalledTimes(clusterMode() ? 2 : 1);
      } finally {
        for (const write of writes) write.mockRestore();
      }
    },
  );
});
