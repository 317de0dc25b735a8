/**
 * No private answer leaks: every seeded user (up to 200) at once, on two instances sharing one
 * Redis prefix (both cache levels shared), asking for their own collection in several shapes
 * (plain, aliased, named and inline fragments, variables, mixed with public fields) over GET and
 * POST through either front door, interleaved with anonymous and public queries, repeated so that
 * most answers are cache hits, with collection writes between rounds. Every private answer is
 * checked item by item against the user's rows read straight from the database; none may carry
 * another user's id, username or collection item ids, or be marked cacheable by shared caches.
 */
import { desc, eq } from 'drizzle-orm';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { collectionItems, kits, users } from '../../src/db/schema.js';
import { tokensFor } from '../helpers/app.js';
import {
  cachedApp,
  dropPrefix,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
  type CachedApp,
} from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';
import { TEST_SEED } from '../helpers/test-seed.js';
import { mulberry32, runSeed } from './prng.js';

const SEED = runSeed(0x1ea4);
/** 200 users at once: the seeded ones, and more added to this file's own database in beforeAll. */
const USERS = 200;
const ROUNDS = 4;
const PER_USER_PER_ROUND = 8;
const PAGE = 50;

type Item = { id: string; note: string | null; condition: string; kit: { id: string; name: string } };
type Truth = { id: string; username: string; totalCount: number; items: Item[] };

/** The same question in several shapes; `expected` builds each shape's exact `data` from the truth. */
const SHAPES: { name: string; query: string; variables?: Record<string, unknown>; expected(t: Truth): unknown }[] = [
  {
    name: 'plain',
    query: `{ me { id username collection(first: ${PAGE}) { totalCount edges { node { id note condition kit { id name } } } } } }`,
    expected: (t) => ({
      me: {
        id: t.id,
        username: t.username,
        collection: { totalCount: t.totalCount, edges: t.items.map((node) => ({ node })) },
      },
    }),
  },
  {
    name: 'aliases',
    query: `{ who: me { uid: id name: username items: collection(first: ${PAGE}) { n: totalCount list: edges { item: node { iid: id note condition kit { kid: id kname: name } } } } } }`,
    expected: (t) => ({
      who: {
        uid: t.id,
        name: t.username,
        items: {
          n: t.totalCount,
          list: t.items.map((i) => ({
            item: { iid: i.id, note: i.note, condition: i.condition, kit: { kid: i.kit.id, kname: i.kit.name } },
          })),
        },
      },
    }),
  },
  {
    name: 'named fragments',
    query: `query Mine { me { ...U } } fragment U on User { id username collection(first: ${PAGE}) { totalCount edges { node { ...I } } } } fragment I on CollectionItem { id note condition kit { id name } }`,
    expected: (t) => SHAPES[0]!.expected(t),
  },
  {
    name: 'inline fragments',
    query: `{ me { ... on User { id username } collection(first: ${PAGE}) { totalCount edges { node { ... on CollectionItem { id note condition kit { id name } } } } } } }`,
    expected: (t) => SHAPES[0]!.expected(t),
  },
  {
    name: 'variables',
    query:
      'query Page($n: Int) { me { id username collection(first: $n) { totalCount edges { node { id note condition kit { id name } } } } } }',
    variables: { n: PAGE },
    expected: (t) => SHAPES[0]!.expected(t),
  },
  {
    name: 'mixed with public fields',
    query: `{ brands { id } me { id username collection(first: ${PAGE}) { totalCount edges { node { id note condition kit { id name } } } } } }`,
    expected: (t) => ({ brands: expect.any(Array), ...(SHAPES[0]!.expected(t) as object) }),
  },
];

const PUBLIC = [
  '{ brands { id name } }',
  '{ kits(first: 5) { edges { node { id name club { name } } } } }',
  '{ seasons { id label } }',
];

let database: Database;
let redis: RedisClient | undefined;
let prefix = '';
let doors: CachedApp[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  if (!redisAvailable()) return;
  // Users the small test seed does not have, each with a few collection items of their own.
  const extra = Array.from({ length: USERS - TEST_SEED.users }, (_, i) => `user${TEST_SEED.users + i + 1}`);
  if (extra.length) {
    const added = await database.db
      .insert(users)
      .values(extra.map((username) => ({ username, passwordHash: 'not-a-login', role: 'USER' as const })))
      .returning({ id: users.id });
    const kitIds = (await database.db.select({ id: kits.id }).from(kits)).map((k) => k.id);
    await database.db.insert(collectionItems).values(
      added.flatMap(({ id }, u) =>
        [0, 1, 2, 3].map((k) => ({
          userId: id,
          kitId: kitIds[(u * 7 + k * 13) % kitIds.length]!,
          condition: 'GOOD' as const,
          note: k === 0 ? `note of ${id}` : null,
        })),
      ),
    );
  }
  redis = testRedis();
  prefix = newPrefix();
  // Two instances, one Redis, one prefix: both the response and the entity cache are shared.
  doors = [
    await cachedApp(database, { backend: 'redis', redis, prefix, entityCache: true }),
    await cachedApp(database, { backend: 'redis', redis, prefix, entityCache: true }),
  ];
});
afterAll(async () => {
  for (const d of doors) await d.caches.settled();
  if (redis) {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
  await database?.close();
});

async function truthOf(userId: number): Promise<Truth> {
  const [user] = await database.db.select().from(users).where(eq(users.id, userId));
  const rows = await database.db
    .select({
      id: collectionItems.id,
      note: collectionItems.note,
      condition: collectionItems.condition,
      kitId: kits.id,
      kitName: kits.name,
    })
    .from(collectionItems)
    .innerJoin(kits, eq(kits.id, collectionItems.kitId))
    .where(eq(collectionItems.userId, userId))
    .orderBy(desc(collectionItems.id));
  return {
    id: String(userId),
    username: user!.username,
    totalCount: rows.length,
    items: rows.slice(0, PAGE).map((r) => ({
      id: String(r.id),
      note: r.note,
      condition: r.condition,
      kit: { id: String(r.kitId), name: r.kitName },
    })),
  };
}

/** A kit the user does not have yet. */
function newKitFor(t: Truth): string {
  const have = new Set(t.items.map((i) => i.kit.id));
  for (let k = (Number(t.id) * 37) % 390; ; k++) if (!have.has(String(k + 1))) return String(k + 1);
}

type Sent = { status: number; text: string; headers: Headers };

async function ask(
  door: CachedApp,
  method: 'GET' | 'POST',
  query: string,
  variables: Record<string, unknown> | undefined,
  authorization: string | undefined,
): Promise<Sent> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (authorization !== undefined) headers.authorization = authorization;
  let response: Response;
  if (method === 'GET') {
    const qs = new URLSearchParams({ query });
    if (variables) qs.set('variables', JSON.stringify(variables));
    response = await door.front.fetch(`http://kitvault.test/graphql?${qs}`, { headers });
  } else {
    response = await door.front.fetch('http://kitvault.test/graphql', {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    });
  }
  return { status: response.status, text: await response.text(), headers: response.headers };
}

/** Every collection item id in an answer, whatever the shape's aliases. */
function itemIds(data: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, underItem: boolean) => {
    if (Array.isArray(v)) v.forEach((x) => walk(x, underItem));
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if ((k === 'node' || k === 'item') && x && typeof x === 'object') {
          const id = (x as Record<string, unknown>).id ?? (x as Record<string, unknown>).iid;
          if (typeof id === 'string') out.push(id);
        }
        walk(x, underItem);
      }
    }
  };
  walk(data, false);
  return out;
}

describe.skipIf(!redisAvailable())(
  `private answers on two instances sharing a Redis prefix${redisAvailable() ? '' : ` (skipped: ${redisSkipReason()})`}`,
  () => {
    it(`${USERS} users × ${ROUNDS} rounds: every private answer is the asker's own, item by item (seed ${SEED})`, async () => {
      const names = Array.from({ length: USERS }, (_, i) => `user${i + 1}`);
      const tokens = await tokensFor(doors[0]!.app, names);
      const people = names.map((name) => ({ name, ...tokens.get(name)! }));
      const truth = new Map<number, Truth>();
      for (const p of people) truth.set(p.userId, await truthOf(p.userId));
      const rng = mulberry32(SEED);

      const problems: string[] = [];
      let privateAnswers = 0;
      let privateHits = 0;
      let anonymousAnswers = 0;
      let publicAnswers = 0;
      // An answer marked HIT was either found in the store (response_hit) or, after a miss, waited
      // for the other instance's fill and served that (response_coalesced).
      const servedFromStore = (d: (typeof doors)[number]) =>
        d.caches.counters.get('response_hit', 'PRIVATE') + d.caches.counters.get('response_coalesced', 'PRIVATE');
      const hitsBefore = doors.map(servedFromStore);

      /** One user's private request, checked against the truth of the moment. */
      const privateCase = async (p: (typeof people)[number], round: number) => {
        const shape = rng.pick(SHAPES);
        const method = rng.chance(0.5) ? 'GET' : 'POST';
        const doorIndex = rng.int(0, 1);
        // The same token however the header is spelled (the lean hit and yoga must agree).
        const authorization = rng.weighted([
          [8, `Bearer ${p.token}`],
          [1, `bearer   ${p.token}  `],
          [1, `BEARER ${p.token}`],
        ]);
        const expected = shape.expected(truth.get(p.userId)!);
        const sent = await ask(doors[doorIndex]!, method, shape.query, shape.variables, authorization);
        const where = `round ${round}, ${p.name}, shape "${shape.name}", ${method} via instance ${doorIndex + 1} (seed ${SEED})`;
        privateAnswers++;
        if (sent.headers.get('x-cache') === 'HIT') privateHits++;
        if (sent.status !== 200) {
          problems.push(`${where}: status ${sent.status} ${sent.text.slice(0, 200)}`);
          return;
        }
        const body = JSON.parse(sent.text) as { data?: unknown; errors?: unknown };
        if (body.errors) {
          problems.push(`${where}: errors ${JSON.stringify(body.errors).slice(0, 300)}`);
          return;
        }
        try {
          expect(body.data).toEqual(expected);
        } catch (error) {
          problems.push(`${where}: not the user's own collection: ${(error as Error).message.slice(0, 1500)}`);
        }
        // Belt and braces: nothing of anybody else, by name or by collection item.
        const own = new Set(truth.get(p.userId)!.items.map((i) => i.id));
        for (const id of itemIds(body.data)) {
          if (!own.has(id)) problems.push(`${where}: collection item ${id} is not ${p.name}'s`);
        }
        for (const other of people) {
          if (other.userId !== p.userId && sent.text.includes(`"${other.name}"`))
            problems.push(`${where}: the answer names ${other.name}`);
        }
        if (/public/i.test(sent.headers.get('cache-control') ?? ''))
          problems.push(`${where}: a private answer marked ${sent.headers.get('cache-control')}`);
      };

      const anonymousCase = async (round: number) => {
        anonymousAnswers++;
        const doorIndex = rng.int(0, 1);
        const method = rng.chance(0.5) ? 'GET' : 'POST';
        const shape = rng.pick(SHAPES);
        const sent = await ask(doors[doorIndex]!, method, shape.query, shape.variables, undefined);
        const where = `round ${round}, anonymous, shape "${shape.name}", ${method} via instance ${doorIndex + 1} (seed ${SEED})`;
        const body = JSON.parse(sent.text) as { data?: Record<string, unknown>; errors?: unknown };
        const me = body.data && ('who' in body.data ? body.data.who : body.data.me);
        if (sent.status !== 200 || body.errors || me !== null)
          problems.push(`${where}: expected me: null, got ${sent.status} ${sent.text.slice(0, 300)}`);
        if (/"user\d+"/.test(sent.text)) problems.push(`${where}: an anonymous answer names a user`);
      };

      const publicCase = async (round: number, p: (typeof people)[number] | undefined) => {
        publicAnswers++;
        const doorIndex = rng.int(0, 1);
        const query = rng.pick(PUBLIC);
        const sent = await ask(
          doors[doorIndex]!,
          rng.chance(0.5) ? 'GET' : 'POST',
          query,
          undefined,
          p && `Bearer ${p.token}`,
        );
        const where = `round ${round}, public ${query} as ${p?.name ?? 'anonymous'} via instance ${doorIndex + 1} (seed ${SEED})`;
        const body = JSON.parse(sent.text) as { data?: unknown; errors?: unknown };
        if (sent.status !== 200 || body.errors || !body.data)
          problems.push(`${where}: ${sent.status} ${sent.text.slice(0, 300)}`);
        if (/"user\d+"/.test(sent.text)) problems.push(`${where}: a public answer names a user`);
      };

      for (let round = 1; round <= ROUNDS; round++) {
        if (round === 3) {
          // Writes between rounds, on both instances: a tenth of the users add a kit, another tenth
          // drop their newest item. The mutation answers after invalidating, so round 3 must see it.
          const writers = people.slice(0, Math.max(2, Math.floor(USERS / 5)));
          await Promise.all(
            writers.map(async (p, i) => {
              const door = doors[i % 2]!;
              const t = truth.get(p.userId)!;
              const mutation =
                i % 2 === 0
                  ? {
                      query: 'mutation($i: AddToCollectionInput!) { addToCollection(input: $i) { id } }',
                      variables: {
                        i: { kitId: newKitFor(t), condition: 'GOOD', note: `round 3 for ${p.name}` },
                      },
                    }
                  : {
                      query: 'mutation($id: ID!) { removeFromCollection(id: $id) }',
                      variables: { id: t.items[0]!.id },
                    };
              const sent = await ask(door, 'POST', mutation.query, mutation.variables, `Bearer ${p.token}`);
              expect(JSON.parse(sent.text).errors, `${p.name}'s write`).toBeUndefined();
            }),
          );
          for (const p of writers) truth.set(p.userId, await truthOf(p.userId));
        }
        const work: Promise<void>[] = [];
        for (const p of people) {
          for (let k = 0; k < PER_USER_PER_ROUND; k++) work.push(privateCase(p, round));
          if (rng.chance(0.5)) work.push(anonymousCase(round));
          if (rng.chance(0.5)) work.push(publicCase(round, rng.chance(0.5) ? p : undefined));
        }
        // Shuffle so users, anonymous and public requests interleave; all are in flight together.
        for (let i = work.length - 1; i > 0; i--) {
          const j = rng.int(0, i);
          [work[i], work[j]] = [work[j]!, work[i]!];
        }
        await Promise.all(work);
        await Promise.all(doors.map((d) => d.caches.settled()));
      }

      const hitsCounted = doors.reduce((sum, d, i) => sum + servedFromStore(d) - hitsBefore[i]!, 0);
      console.info(
        `seed ${SEED}: ${privateAnswers} private answers (${privateHits} lean hits, ${hitsCounted} served from the store counted), ${anonymousAnswers} anonymous, ${publicAnswers} public`,
      );
      expect(problems.slice(0, 20), `${problems.length} problems`).toEqual([]);
      expect(privateAnswers).toBe(USERS * ROUNDS * PER_USER_PER_ROUND);
      // The cache served many of them: after round 1 most private requests are hits (each instance
      // learns a token on its first request, writes drop their users' entries, and the first entry
      // of a never-used bucket of the fresh prefix lives 5 s only: see "Redis key layout").
      expect(privateHits).toBeGreaterThan(privateAnswers / 3);
      expect(hitsCounted).toBeGreaterThanOrEqual(privateHits);
    }, 120_000);
  },
);
