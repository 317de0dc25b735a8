/**
 * Randomised key loss over two servers sharing a Redis prefix (both cache levels on). Each round:
 * lose a random sample of one kind of key, start a query that reads a row and is held before it
 * writes back, rename that row (a kit or a club) through one server, lose a random sample of
 * another kind, release the held query, then read every query through the front door of both
 * servers and compare with an uncached app on the same database. Not one stale answer; and the
 * hit rate shows caching still pays. The seed is printed with any failure (FAULT_SEED replays it).
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/client.js';
import { mulberry32 } from '../../src/db/seed.js';
import { data, testApp, tokensFor } from '../helpers/app.js';
import {
  cachedApp,
  dropPrefix,
  keysUnder,
  newPrefix,
  redisAvailable,
  redisSkipReason,
  testRedis,
  type CachedApp,
} from '../helpers/caches.js';
import { gateResolvers } from '../helpers/resolver-gate.js';
import {
  CLUB,
  CLUB_KITS,
  KIT,
  KIT_CLUB,
  KITS_OF,
  kitsOfClubs,
  RENAME_CLUB,
  RENAME_KIT,
} from '../helpers/stale-reads.js';
import { openTestDatabase } from '../helpers/database.js';

const skip = redisAvailable() ? false : redisSkipReason();
/** FAULT_ROUNDS runs a longer soak. */
const ROUNDS = Number(process.env.FAULT_ROUNDS ?? 150);

/** Holds the next armed `kit` or `club` resolution (on any instance) after it has read its row. */
const gate = gateResolvers();

/** The kinds of key a server writes, by name after the prefix. */
const KINDS: Record<string, (key: string) => boolean> = {
  entry: (k) => k.includes('}:r:'),
  'bucket clock': (k) => k.endsWith('}:c'),
  'tag versions': (k) => k.endsWith('}:v'),
  'fill lease': (k) => k.includes('}:l:'),
  'entity value or lease': (k) => k.includes('{e:'),
};
/** A sample of every kind at once (a partial flush). */
const ANY = 'every kind';

const KITS = '{ kits(first: 30) { totalCount edges { node { id name } } } }';
const CLUBS = '{ clubs(first: 30) { edges { node { id name } } } }';

type Query = { query: string; variables: Record<string, unknown> };

let database: Database;
const clients: RedisClient[] = [];
let prefix: string;
let servers: CachedApp[];
let truth: App;
let admin: string;

beforeAll(async () => {
  if (skip) return;
  database = await openTestDatabase();
  prefix = newPrefix();
  clients.push(testRedis(), testRedis(), testRedis());
  servers = [
    await cachedApp(database, { backend: 'redis', redis: clients[0], prefix, entityCache: true }),
    await cachedApp(database, { backend: 'redis', redis: clients[1], prefix, entityCache: true }),
  ];
  truth = testApp(database);
  admin = (await tokensFor(truth, ['admin'])).get('admin')!.token;
});
afterAll(async () => {
  if (clients.length) await dropPrefix(clients[2]!, prefix);
  for (const c of clients) c.disconnect();
  await database?.close();
});

/**
 * A query's one top-level field with its variables written in, for the truth: every query of a
 * round goes to the uncached app as one document (its loaders batch), aliased q0, q1, …
 */
function truthField(q: Query): { key: string; field: string } {
  const body = q.query.slice(q.query.indexOf('{') + 1, q.query.lastIndexOf('}')).trim();
  const [whole, alias, name] = /^(?:(\w+):\s*)?(\w+)/.exec(body)!;
  let field = alias ? body.slice(whole.length - name!.length) : body;
  for (const [variable, value] of Object.entries(q.variables))
    field = field.replace(new RegExp(`\\$${variable}\\b`, 'g'), JSON.stringify(value));
  return { key: alias ?? name!, field };
}

async function ask(server: CachedApp, q: Query) {
  const response = await server.front.fetch('http://kitvault.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify(q),
  });
  const body = (await response.json()) as { data?: unknown; errors?: unknown };
  return { body, cache: response.headers.get('x-cache') };
}

describe('random key loss over two servers', () => {
  it.skipIf(skip)(
    `never answers stale, and still caches${skip ? ` (skipped: ${skip})` : ''}`,
    { timeout: 180_000 }, // ~15 s on two idle cores; a loaded CI machine may take a few times that
    async () => {
      const seed = Number(process.env.FAULT_SEED ?? Date.now() % 2 ** 31);
      const rnd = mulberry32(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
      const redis = clients[2]!;

      const clubIds = ['1', '2', '3'];
      const kitIds = await kitsOfClubs(truth, clubIds);
      const queries: Query[] = [
        ...kitIds.map((id) => ({ query: KIT, variables: { id } })),
        ...clubIds.map((_, i) => ({ query: KIT_CLUB, variables: { id: kitIds[i * 2]! } })),
        ...clubIds.map((id) => ({ query: CLUB, variables: { id } })),
        { query: CLUB_KITS, variables: { id: '1' } },
        { query: KITS_OF, variables: { c: '2' } },
        { query: KITS_OF, variables: { c: '3' } },
        { query: KITS, variables: {} },
        { query: CLUBS, variables: {} },
      ];
      const names = new Map<string, string>();
      for (const id of kitIds) names.set(`kit:${id}`, (await data(truth, KIT, { id })).kit.name);
      for (const id of clubIds) names.set(`club:${id}`, (await data(truth, CLUB, { id })).club.name);

      const lose = async (kind: string) => {
        const match = KINDS[kind] ?? (() => true);
        const share = 0.2 + 0.8 * rnd();
        const victims = (await keysUnder(redis, prefix)).filter((k) => match(k) && rnd() < share);
        // One DEL per key: on a Cluster the victims live in many slots.
        await Promise.all(victims.map((key) => redis.del(key)));
        return victims.length;
      };
      const epochs = async () =>
        (await Promise.all(Array.from({ length: 16 }, (_, b) => redis.get(`${prefix}{rc:${b}}:c`)))).map(
          (c) => c?.split('.')[0] ?? null,
        );

      // Warm both servers (the lean hit only serves documents its server has executed).
      for (const server of servers) for (const q of queries) await ask(server, q);
      await Promise.all(servers.map((s) => s.caches.settled()));

      let reads = 0;
      let hits = 0;
      let lost = 0;
      let epochChanges = 0;
      let previous = await epochs();
      for (let round = 0; round < ROUNDS; round++) {
        const before = pick([...Object.keys(KINDS), ANY]);
        const after = pick([...Object.keys(KINDS), ANY]);
        const target =
          rnd() < 0.7 ? { field: 'kit' as const, id: pick(kitIds) } : { field: 'club' as const, id: pick(clubIds) };
        const writer = pick(servers);
        const reader = pick(servers);
        const name = `${names.get(`${target.field}:${target.id}`)} r${round}`;
        const heldQuery: Query = {
          query: `query($id: ID!) { r${round}: ${target.field}(id: $id) { id name } }`,
          variables: { id: target.id },
        };
        const context = `seed ${seed}, round ${round}, lost ${before} then ${after}, renamed ${target.field} ${target.id}`;

        lost += await lose(before);
        // A query that reads the row before the rename and writes back after it.
        gate.arm(target.field);
        const slow = ask(reader, heldQuery);
        await gate.reached();
        await data(writer.app, target.field === 'kit' ? RENAME_KIT : RENAME_CLUB, { id: target.id, name }, admin);
        lost += await lose(after);
        gate.release();
        await slow;
        await Promise.all(servers.map((s) => s.caches.settled()));

        const checked = [...queries, heldQuery];
        const fields = checked.map(truthField);
        const expected = await data(truth, `{ ${fields.map((f, i) => `q${i}: ${f.field}`).join(' ')} }`);
        for (const server of servers) {
          // All at once: the reads follow the rename and every write it raced; none depends on another.
          const answers = await Promise.all(checked.map((q) => ask(server, q)));
          for (const [i, answer] of answers.entries()) {
            reads += 1;
            if (answer.cache === 'HIT') hits += 1;
            expect(answer.body.errors, context).toBeUndefined();
            expect(
              answer.body.data,
              `${context}: ${JSON.stringify(checked[i])} on server ${servers.indexOf(server)}, x-cache ${answer.cache}`,
            ).toEqual({ [fields[i]!.key]: expected[`q${i}`] });
          }
          await server.caches.settled();
        }
        const now = await epochs();
        epochChanges += now.filter((e, b) => e !== previous[b]).length;
        previous = now;
      }
      const rate = hits / reads;
      console.info(
        `random key loss: ${ROUNDS} rounds, ${lost} keys lost, ${reads} reads checked, 0 stale, hit rate ${(rate * 100).toFixed(1)} %, ${epochChanges} bucket epochs replaced (seed ${seed})`,
      );
      expect(rate).toBeGreaterThan(0.3);
    },
  );
});
