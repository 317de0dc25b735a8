/**
 * Three API instances behind a real HAProxy (deploy/haproxy/haproxy.cfg, started by the test),
 * sharing the test's Postgres database and one Redis key prefix; every request goes through the
 * balancer over HTTP, so reads and writes land on any instance.
 *
 * - Randomised stale reads: each round starts a read that is held after it read its row, races
 *   concurrent reads against a rename or a move made through the balancer, releases the held read
 *   once the mutation has answered, then reads every query on all three instances (three at once:
 *   round robin sends them to three different ones, which the `x-instance` header proves) and
 *   compares each answer with an uncached app on the same database. 0 stale answers; the hit rate
 *   shows caching pays. The seed is printed with any failure (BALANCER_SEED replays it).
 * - 0 leaks: users' private answers through the balancer are each user's own; a logout landing on
 *   one instance is honoured by all three.
 * - An instance whose /ready fails (its Redis gone) gets no more requests: the health checks work.
 * - The address the API sees is the client's: HAProxy appends it to X-Forwarded-For and the
 *   instances (TRUST_PROXY=1) believe only that entry, not what the client forged.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { mulberry32 } from '../../src/db/seed.js';
import { data, testApp, tokensFor } from '../helpers/app.js';
import { dropPrefix, keysUnder, newPrefix, redisAvailable, redisSkipReason, testRedis } from '../helpers/caches.js';
import { gateResolvers } from '../helpers/resolver-gate.js';
import { openTestDatabase, usingRealPostgres, type TestDatabase } from '../helpers/database.js';
import { ask, closeAgents, type Answer, type Ask } from './client.js';
import { haproxySkip, startHaproxy, type OwnHaproxy } from './haproxy.js';
import { startInstances, type Instance } from './instances.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const skip: string | false = !redisAvailable()
  ? redisSkipReason()
  : haproxySkip ||
    (!usingRealPostgres() && !ci ? 'needs Postgres: three instances share one database over TCP' : false);
/** BALANCER_ROUNDS runs a longer soak. */
const ROUNDS = Number(process.env.BALANCER_ROUNDS ?? 40);
const LOGIN_MAX_ATTEMPTS_PER_ADDRESS = 3;

/** Holds the next armed `kit` or `club` resolution (on any instance) after it has read its row. */
const gate = gateResolvers();

const KIT = 'query($id: ID!) { kit(id: $id) { id name club { id name } } }';
const CLUB = 'query($id: ID!) { club(id: $id) { id name } }';
const CLUB_KITS =
  'query($id: ID!) { club(id: $id) { id name kits(first: 50) { totalCount edges { node { id name } } } } }';
const KITS_OF = 'query($c: ID) { kits(clubId: $c, first: 50) { totalCount edges { node { id name } } } }';
const KITS = '{ kits(first: 30) { totalCount edges { node { id name club { id } } } } }';
const CLUBS = '{ clubs(first: 30) { edges { node { id name } } } }';
const SEARCH =
  'query($t: String!) { search(text: $t, first: 30) { __typename ... on Kit { id name } ... on Club { id name } } }';
const RENAME_KIT = 'mutation($id: ID!, $name: String!) { updateKit(input: { id: $id, name: $name }) { id } }';
const RENAME_CLUB = 'mutation($id: ID!, $name: String!) { updateClub(input: { id: $id, name: $name }) { id } }';
const MOVE_KIT = 'mutation($id: ID!, $c: ID!) { updateKit(input: { id: $id, clubId: $c }) { id } }';
const COLLECTION = '{ me { id username collection(first: 50) { totalCount edges { node { id kit { id name } } } } } }';
const ADD_ITEM =
  'mutation($k: ID!) { addToCollection(input: { kitId: $k, condition: MINT, note: "balancer" }) { id } }';

let database: TestDatabase;
let prefix: string;
let redis: RedisClient;
let instances: Instance[] = [];
let haproxy: OwnHaproxy;
let truth: App;
let admin: string;
let base: string;

beforeAll(async () => {
  if (skip) return;
  database = await openTestDatabase();
  if (!database.url) throw new Error('the balancer test needs Postgres (CI=true)');
  prefix = newPrefix();
  redis = testRedis();
  instances = await startInstances(3, {
    databaseUrl: database.url,
    prefix,
    loginMaxAttemptsPerAddress: LOGIN_MAX_ATTEMPTS_PER_ADDRESS,
  });
  haproxy = await startHaproxy(instances.map((i) => i.address));
  base = haproxy.url;
  truth = testApp(database);
  admin = (await tokensFor(truth, ['admin'])).get('admin')!.token;
  // Up once round robin reaches all three (each passed its first /ready check).
  const deadline = Date.now() + 20_000;
  for (;;) {
    const seen = new Set((await threeAtOnce({ query: '{ __typename }' })).map((a) => a.instance));
    if (seen.size === 3) break;
    if (Date.now() > deadline)
      throw new Error(`the balancer reaches ${[...seen].join(', ')} only: ${haproxy.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => {
  closeAgents();
  await haproxy?.stop();
  for (const instance of instances) await instance.close();
  if (redis) {
    await dropPrefix(redis, prefix);
    redis.disconnect();
  }
  await database?.close();
});

/** The same request three times at once: round robin hands them to three different instances. */
function threeAtOnce(q: Ask, from?: string): Promise<Answer[]> {
  return Promise.all([ask(base, q, from), ask(base, q, from), ask(base, q, from)]);
}

type Read = { query: string; variables: Record<string, unknown> };

describe.skipIf(skip)(`three instances behind HAProxy${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('never answers stale through the balancer, and caches', { timeout: 240_000 }, async () => {
    const seed = Number(process.env.BALANCER_SEED ?? Date.now() % 2 ** 31);
    const rnd = mulberry32(seed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

    const clubIds = ['1', '2', '3'];
    const kitIds: string[] = [];
    for (const c of clubIds) {
      const { kits } = await data(truth, KITS_OF, { c });
      kitIds.push(...kits.edges.slice(0, 3).map((e: { node: { id: string } }) => e.node.id));
    }
    const names = new Map<string, string>();
    for (const id of kitIds) names.set(`kit:${id}`, (await data(truth, KIT, { id })).kit.name);
    for (const id of clubIds) names.set(`club:${id}`, (await data(truth, CLUB, { id })).club.name);
    const firstClubWord = names.get('club:1')!.split(' ')[0]!;
    const reads: Read[] = [
      ...kitIds.map((id) => ({ query: KIT, variables: { id } })),
      ...clubIds.map((id) => ({ query: CLUB, variables: { id } })),
      ...clubIds.map((id) => ({ query: CLUB_KITS, variables: { id } })),
      ...clubIds.map((c) => ({ query: KITS_OF, variables: { c } })),
      { query: KITS, variables: {} },
      { query: CLUBS, variables: {} },
      // Renamed names carry "zq<round>": this search's answer grows and changes with them.
      { query: SEARCH, variables: { t: 'zq' } },
      { query: SEARCH, variables: { t: firstClubWord } },
    ];

    // Every instance runs every document once (the lean hit serves only documents its instance knows).
    for (const q of reads) await threeAtOnce(q);

    let checked = 0;
    let hits = 0;
    let raced = 0;
    const reached = new Set<number>();
    const stale: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const kind = pick(['rename kit', 'rename kit', 'rename club', 'move kit', 'move kit'] as const);
      const kitId = pick(kitIds);
      const clubId = pick(clubIds);
      const mutation: Read =
        kind === 'rename kit'
          ? { query: RENAME_KIT, variables: { id: kitId, name: `${names.get(`kit:${kitId}`)} zq${round}` } }
          : kind === 'rename club'
            ? { query: RENAME_CLUB, variables: { id: clubId, name: `${names.get(`club:${clubId}`)} zq${round}` } }
            : { query: MOVE_KIT, variables: { id: kitId, c: clubId } };
      const field = kind === 'rename club' ? 'club' : 'kit';
      const target = kind === 'rename club' ? clubId : kitId;
      const context = `seed ${seed}, round ${round}, ${kind} (${JSON.stringify(mutation.variables)})`;

      // A read of the target that has its row before the mutation and writes back after it answered.
      const heldRead: Read = {
        query: `query($id: ID!) { r${round}: ${field}(id: $id) { id name } }`,
        variables: { id: target },
      };
      gate.arm(field);
      const slow = ask(base, heldRead);
      await gate.reached();
      // Concurrent reads racing the mutation (any of them may miss, execute and write back late).
      const racing = Array.from({ length: 8 }, () => ask(base, pick(reads)));
      const written = await ask(base, { ...mutation, token: admin });
      expect(written.body.errors, context).toBeUndefined();
      gate.release();
      const racedAnswers = await Promise.all([slow, ...racing]);
      raced += racedAnswers.length;
      for (const a of racedAnswers) expect(a.body.errors, context).toBeUndefined();

      const checkedReads = [...reads, heldRead];
      for (const q of checkedReads) {
        const expected = await data(truth, q.query, q.variables);
        const answers = await threeAtOnce(q);
        expect(new Set(answers.map((a) => a.instance)).size, `${context}: ${q.query} reached every instance`).toBe(3);
        for (const a of answers) {
          checked += 1;
          reached.add(a.instance);
          if (a.cache === 'HIT') hits += 1;
          expect(a.body.errors, context).toBeUndefined();
          if (JSON.stringify(a.body.data) !== JSON.stringify(expected))
            stale.push(
              `${context}: ${q.query} ${JSON.stringify(q.variables)} on instance ${a.instance} (x-cache ${a.cache}): ` +
                `${JSON.stringify(a.body.data)} instead of ${JSON.stringify(expected)}`,
            );
        }
      }
    }
    const rate = hits / checked;
    console.info(
      `balancer: ${ROUNDS} rounds, ${raced} racing reads, ${checked} reads checked on instances ${[...reached].join(', ')}, ` +
        `${stale.length} stale, hit rate ${(rate * 100).toFixed(1)} % (seed ${seed}); ` +
        `/graphql requests per instance: ${instances.map((i) => i.graphqlRequests).join(' / ')}`,
    );
    expect(stale.slice(0, 5), `seed ${seed}: ${stale.length} stale answers`).toEqual([]);
    expect([...reached].sort()).toEqual([0, 1, 2]);
    expect(rate, `seed ${seed}`).toBeGreaterThan(0.5);
  });

  it('answers every user with their own private data, and honours a logout on every instance', async () => {
    const usernames = Array.from({ length: 8 }, (_, i) => `user${i + 1}`);
    const tokens = await tokensFor(truth, usernames);
    const own = async () =>
      new Map(
        await Promise.all(
          usernames.map(async (u) => [u, await data(truth, COLLECTION, {}, tokens.get(u)!.token)] as const),
        ),
      );
    let privateHits = 0;
    let answered = 0;
    for (let round = 0; round < 4; round++) {
      const expected = await own();
      // Everyone at once, six times each (most answers are cache hits); then each user alone, on
      // all three instances.
      const together = await Promise.all(
        usernames.map(async (u) => ({
          u,
          answers: (
            await Promise.all([0, 1].map(() => threeAtOnce({ query: COLLECTION, token: tokens.get(u)!.token })))
          ).flat(),
        })),
      );
      const alone: { u: string; answers: Answer[] }[] = [];
      for (const u of usernames) {
        const three = await threeAtOnce({ query: COLLECTION, token: tokens.get(u)!.token });
        expect(new Set(three.map((a) => a.instance)).size, `${u} reached every instance`).toBe(3);
        alone.push({ u, answers: three });
      }
      for (const { u, answers } of [...together, ...alone]) {
        for (const a of answers) {
          answered += 1;
          if (a.cache === 'HIT') privateHits += 1;
          expect(a.body.data, `${u} on instance ${a.instance} (x-cache ${a.cache})`).toEqual(expected.get(u));
          expect(a.cacheControl ?? '', `${u}: a private answer is never public`).not.toMatch(/public/);
        }
      }
      // Anonymous callers get no one's data.
      for (const a of await threeAtOnce({ query: COLLECTION })) expect(a.body.data).toEqual({ me: null });
      // A collection write by one user, through the balancer, between rounds.
      const writer = usernames[round]!;
      const added = await ask(base, {
        query: ADD_ITEM,
        variables: { k: String(10 + round) },
        token: tokens.get(writer)!.token,
      });
      expect(added.body.errors).toBeUndefined();
    }
    expect(privateHits / answered).toBeGreaterThan(0.3);

    // Logout: the token is known (verified, its answer cached) on all three instances first.
    const { token } = tokens.get('user8')!;
    await threeAtOnce({ query: COLLECTION, token });
    const warm = await threeAtOnce({ query: COLLECTION, token });
    expect(warm.map((a) => a.cache)).toEqual(['HIT', 'HIT', 'HIT']);
    const out = await ask(base, { query: 'mutation { logout }', token });
    expect(out.body.data).toEqual({ logout: true });
    const loggedOutAt = performance.now();
    // Other instances hear of it through Redis pub/sub: within a moment, all three refuse the token.
    let refused = await threeAtOnce({ query: COLLECTION, token });
    while (refused.some((a) => a.body.data?.me) && performance.now() - loggedOutAt < 2000)
      refused = await threeAtOnce({ query: COLLECTION, token });
    // (Without pub/sub an instance would keep the token for up to 1 s, its cache's degraded lifetime.)
    expect(performance.now() - loggedOutAt).toBeLessThan(500);
    for (let i = 0; i < 3; i++) {
      for (const a of refused) {
        expect(a.body.data?.me ?? null, `instance ${a.instance}`).toBeNull();
        expect(a.body.errors?.[0]?.extensions?.code, `instance ${a.instance}`).toBe('UNAUTHENTICATED');
      }
      refused = await threeAtOnce({ query: COLLECTION, token });
    }
  });

  it("counts sign-ins by the client's address, not the balancer's nor a forged one", async () => {
    const failed = (from: string, i: number) =>
      ask(
        base,
        {
          query: 'mutation($u: String!) { login(username: $u, password: "wrong") { token } }',
          variables: { u: `nobody${from}-${i}` },
          forwardedFor: `203.0.113.${i}`,
        },
        from,
      );
    const attempts: Answer[] = [];
    for (let i = 0; i < LOGIN_MAX_ATTEMPTS_PER_ADDRESS; i++) attempts.push(await failed('127.0.0.2', i));
    // The attempts landed on all three instances: the limit is shared.
    expect(new Set(attempts.map((a) => a.instance)).size).toBe(3);
    for (const a of attempts) expect(a.body.errors?.[0]?.extensions?.code).not.toBe('RATE_LIMITED');
    // A forged X-Forwarded-For does not make the client someone else.
    expect((await failed('127.0.0.2', 99)).body.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    // Another client (and so not the balancer's own address) is not limited.
    expect((await failed('127.0.0.3', 0)).body.errors?.[0]?.extensions?.code).not.toBe('RATE_LIMITED');
    const counted = (await keysUnder(redis, `${prefix}{login}:a:`)).map((k) => k.slice(`${prefix}{login}:a:`.length));
    expect(counted.sort()).toEqual(['127.0.0.2', '127.0.0.3']);
  });
  // Last: it leaves instance 2 without Redis.
  it('stops sending requests to an instance whose /ready fails (health checks)', { timeout: 30_000 }, async () => {
    const sick = instances[2]!;
    // Its Redis connection gone, /ready answers 503 ("redis":"failing") within its 2 s memo.
    sick.c.caches.redis!.disconnect();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const some = await Promise.all(Array.from({ length: 6 }, () => ask(base, { query: '{ __typename }' })));
      if (!some.some((a) => a.instance === 2)) break;
      if (Date.now() > deadline) throw new Error(`instance 2 still gets requests: ${haproxy.output()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const after = await Promise.all(Array.from({ length: 30 }, () => ask(base, { query: '{ __typename }' })));
    expect(after.map((a) => a.status)).toEqual(Array<number>(30).fill(200));
    expect(new Set(after.map((a) => a.instance))).toEqual(new Set([0, 1]));
  });
});
