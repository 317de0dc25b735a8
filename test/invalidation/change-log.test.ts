/**
 * Writes made outside the API (a plain SQL connection, the seed) reach both cache levels of every
 * instance through the change log: two instances sharing Redis, each following the log. Their
 * backstop poll is a minute, so what is applied here was woken by NOTIFY or by a reconnect's catch-up.
 */
import type { RedisClient } from '../../src/cache/redis/client.js';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { openDatabase, type Database } from '../../src/db/client.js';
import { seed } from '../../src/db/seed.js';
import { data, gql, testApp, tokensFor } from '../helpers/app.js';
import { cachedApp, dropPrefix, newPrefix, redisSkipReason, testRedis, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase, usingRealPostgres, type TestDatabase } from '../helpers/database.js';
import { withDatabase } from '../helpers/services.js';
import { TEST_SEED } from '../helpers/test-seed.js';
import { ask, KIT, warm } from './asking.js';

const skip = !usingRealPostgres() ? 'needs Postgres' : redisSkipReason() || false;

describe.skipIf(skip)('the change log, followed by two instances sharing Redis', () => {
  let database: TestDatabase;
  /** Instance two's own pool (and so its own listening connection), as a second server would have. */
  let second: Database;
  let sql: postgres.Sql;
  let redis: RedisClient;
  let prefix: string;
  let one: CachedApp;
  let two: CachedApp;
  let admin = '';
  /** Applied rows' lags (ms), from both instances, while `measuring`. */
  const lags: number[] = [];
  let measuring = false;
  /** Redis commands sent by the instances' shared client. */
  let sent: MockInstance<RedisClient['sendCommand']>;

  beforeAll(async () => {
    database = await openTestDatabase();
    sql = postgres(database.url!, { max: 1, onnotice: () => {} });
    redis = testRedis();
    sent = vi.spyOn(redis, 'sendCommand');
    prefix = newPrefix();
    const options = { backend: 'redis' as const, redis, prefix, entityCache: true };
    second = await openDatabase({ url: database.url!, maxConnections: 5 });
    one = await cachedApp(database, options);
    two = await cachedApp(second, options);
    for (const c of [one, two])
      await c.caches.followChanges({ pollMs: 60_000, onApplied: (ms) => measuring && lags.push(ms) });
    admin = (await tokensFor(one.app, ['admin'])).get('admin')!.token;
  });
  afterAll(async () => {
    for (const c of [one, two]) await c?.caches.close();
    if (lags.length) {
      const sorted = [...lags].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!.toFixed(1);
      console.log(
        `change log lag, single-row UPDATEs, over ${sorted.length} applications: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`,
      );
    }
    await dropPrefix(redis, prefix);
    redis.disconnect();
    await sql?.end();
    await second?.close();
    await database?.close();
  });

  const applied = (c: CachedApp) => c.caches.counters.get('change_applied');
  const lastLogId = async () => Number((await sql`select coalesce(max(id), 0) as id from cache_changes`)[0]!.id);

  /** Runs `write`, then waits until both instances applied every log row it recorded; answers how many. */
  async function outside(write: () => Promise<unknown>): Promise<number> {
    const from = await lastLogId();
    const before = [applied(one), applied(two)];
    await write();
    const rows = Number((await sql`select count(*) as n from cache_changes where id > ${from}`)[0]!.n);
    await vi.waitFor(
      () => {
        expect(applied(one) - before[0]!).toBe(rows);
        expect(applied(two) - before[1]!).toBe(rows);
      },
      { timeout: 20_000, interval: 10 },
    );
    return rows;
  }

  const truth = async (query: string, variables: Record<string, unknown> = {}) =>
    (await gql(testApp(database), query, variables)).data;

  it('an UPDATE in psql is applied by both instances: neither serves the old name, at either level', async () => {
    for (const c of [one, two]) await warm(c, KIT, { k: 3 });
    const name = `renamed in psql ${Date.now()}`;
    expect(await outside(() => sql`update kits set name = ${name} where id = 3`)).toBe(1);
    for (const c of [one, two]) {
      // Both levels: the recomputed answer reads the row through the (shared) entity cache.
      expect((await ask(c, KIT, { k: 3 })).data).toEqual({ kit: { name } });
      expect((await ask(c, KIT, { k: 3 })).data).toEqual({ kit: { name } });
    }
  });

  it('measures the lag of single-row UPDATEs (reported, not asserted)', async () => {
    measuring = true;
    for (let i = 0; i < 40; i++) await outside(() => sql`update kits set name = ${`lag ${i}`} where id = 7`);
    measuring = false;
    expect(lags).toHaveLength(80);
  });

  /** A kit, its club A, two other clubs and what the lists of a move would touch. */
  async function fixture() {
    const [k] = await sql`select k.id, k.club_id, k.season_id, k.brand_id,
      (select min(competition_id) from kit_competitions where kit_id = k.id) as comp
      from kits k where exists (select 1 from kit_competitions where kit_id = k.id) order by k.id limit 1`;
    const others = await sql`select id from clubs where id <> ${k!.club_id} order by id limit 2`;
    const [kb] = await sql`select id from kits where club_id = ${others[0]!.id} order by id limit 1`;
    return {
      K: k!.id,
      A: k!.club_id,
      B: others[0]!.id,
      C: others[1]!.id,
      KB: kb!.id,
      S: k!.season_id,
      Br: k!.brand_id,
      Comp: k!.comp,
    };
  }

  it('moving a kit to another club in SQL drops exactly what the updateKit mutation drops', async () => {
    const f = await fixture();
    const kitsOf = 'query($c: ID) { kits(clubId: $c) { totalCount edges { node { id name } } } }';
    const clubKits = 'query($c: ID!) { club(id: $c) { kits { totalCount } } }';
    const named: Record<string, [string, Record<string, unknown>?]> = {
      kitsA: [kitsOf, { c: f.A }],
      kitsB: [kitsOf, { c: f.B }],
      kitsC: [kitsOf, { c: f.C }],
      clubAKits: [clubKits, { c: f.A }],
      clubBKits: [clubKits, { c: f.B }],
      clubCKits: [clubKits, { c: f.C }],
      clubASeasons: ['query($c: ID!) { club(id: $c) { seasons { label } } }', { c: f.A }],
      seasonKits: ['query($s: ID!) { season(id: $s) { kits(first: 100) { totalCount } } }', { s: f.S }],
      brandKits: ['query($b: ID!) { brand(id: $b) { kits { totalCount } } }', { b: f.Br }],
      compKits: ['query($c: ID!) { competition(id: $c) { kits { totalCount } } }', { c: f.Comp }],
      allKits: ['{ kits(first: 5) { totalCount } }'],
      kitK: [KIT, { k: f.K }],
      kitKB: [KIT, { k: f.KB }],
      clubA: ['query($c: ID!) { club(id: $c) { name } }', { c: f.A }],
      brands: ['{ brands { name } }'],
      seasons: ['{ seasons { label } }'],
      competitions: ['{ competitions { name } }'],
    };
    /** Warms every named answer on instance one, writes, and answers which were dropped (each now current). */
    async function dropsOf(write: () => Promise<unknown>): Promise<string[]> {
      for (const [q, v] of Object.values(named)) await warm(one, q, v);
      await write();
      const dropped: string[] = [];
      for (const [n, [q, v]] of Object.entries(named)) {
        const r = await ask(one, q, v);
        if (!r.extensions?.responseCache?.hit) dropped.push(n);
        expect(r.data, n).toEqual(await truth(q, v));
      }
      return dropped;
    }
    const move = (clubId: number) =>
      data(two.app, 'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }', { i: { id: f.K, clubId } }, admin);

    const byMutation = await dropsOf(() => move(f.B));
    await move(f.A);
    const bySql = await dropsOf(() => outside(() => sql`update kits set club_id = ${f.B} where id = ${f.K}`));
    expect(bySql).toEqual(byMutation);
    expect(byMutation).toEqual([
      'kitsA',
      'kitsB',
      'clubAKits',
      'clubBKits',
      'clubASeasons',
      'seasonKits',
      'brandKits',
      'compKits',
      'allKits',
      'kitK',
    ]);
  });

  it('the API’s own mutation invalidates once, through its own record: the triggers skip it', async () => {
    const from = await lastLogId();
    const before = [applied(one), applied(two)];
    const name = `renamed by the API ${Date.now()}`;
    await data(two.app, 'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id } }', { i: { id: 4, name } }, admin);
    expect(await lastLogId()).toBe(from);
    // A later write from outside is applied after anything logged before it: the mutation added nothing.
    await outside(() => sql`update brands set name = name || '.' where id = 1`);
    expect([applied(one) - before[0]!, applied(two) - before[1]!]).toEqual([1, 1]);
    expect((await ask(one, KIT, { k: 4 })).data).toEqual({ kit: { name } });
  });

  it('applies a change whose transaction commits after a later-numbered one (ids commit out of order)', async () => {
    for (const c of [one, two]) for (const k of [20, 21]) await warm(c, KIT, { k });
    const other = postgres(database.url!, { max: 1, onnotice: () => {} });
    const [early, late] = [`drawn first, committed last ${Date.now()}`, `drawn last, committed first ${Date.now()}`];
    const before = [applied(one), applied(two)];
    const appliedSince = (n: number) =>
      vi.waitFor(() => expect([applied(one) - before[0]!, applied(two) - before[1]!]).toEqual([n, n]), {
        timeout: 20_000,
        interval: 10,
      });
    try {
      await sql.begin(async (tx) => {
        await tx`update kits set name = ${early} where id = 20`;
        await other`update kits set name = ${late} where id = 21`;
        // The later row is applied while the earlier one is still uncommitted: a reader that kept
        // "the highest id (or xid) seen" would now be past the earlier row for good.
        await appliedSince(1);
      });
    } finally {
      await other.end();
    }
    await appliedSince(2);
    for (const c of [one, two]) {
      expect((await ask(c, KIT, { k: 20 })).data).toEqual({ kit: { name: early } });
      expect((await ask(c, KIT, { k: 21 })).data).toEqual({ kit: { name: late } });
    }
  });

  it('loses nothing when the listening connections are killed while changes are made', async () => {
    for (const c of [one, two]) for (const k of [10, 11, 12]) await warm(c, KIT, { k });
    const reconnects = () => [one, two].map((c) => c.caches.counters.get('change_catch_up', 'reconnect'));
    const before = reconnects();
    const names = [10, 11, 12].map((k) => `while reconnecting ${k} ${Date.now()}`);
    // While the listeners cannot reconnect (the changes' notifications reach nobody): kill them, write, let them back.
    const name = (await sql`select current_database() as name`)[0]!.name as string;
    const maintenance = postgres(withDatabase(database.url!, 'postgres'), { max: 1, onnotice: () => {} });
    const allow = (yes: boolean) => maintenance.unsafe(`alter database "${name}" allow_connections ${yes}`);
    expect(
      await outside(async () => {
        await allow(false);
        try {
          const killed = await sql`select pg_terminate_backend(pid) from pg_stat_activity
            where datname = current_database() and query ilike 'listen%' and pid <> pg_backend_pid()`;
          expect(killed).toHaveLength(2); // one per instance
          for (const [i, k] of [10, 11, 12].entries()) await sql`update kits set name = ${names[i]!} where id = ${k}`;
        } finally {
          await allow(true);
          await maintenance.end();
        }
      }),
    ).toBe(3);
    expect(reconnects()[0]).toBeGreaterThan(before[0]!);
    expect(reconnects()[1]).toBeGreaterThan(before[1]!);
    for (const c of [one, two])
      for (const [i, k] of [10, 11, 12].entries())
        expect((await ask(c, KIT, { k })).data).toEqual({ kit: { name: names[i] } });
  });

  it('a 10,000-row UPDATE records one coarse entry and costs a bounded purge, after which answers are current', async () => {
    await outside(
      () => sql`insert into kits (club_id, season_id, brand_id, type, name, primary_colour)
        select 1, 1, 1, 'SPECIAL', 'bulk ' || g, 'red' from generate_series(1, 10000) g`,
    );
    const list = 'query($c: ID) { kits(clubId: $c, first: 3) { totalCount edges { node { name } } } }';
    for (const c of [one, two]) {
      await warm(c, list, { c: 1 });
      await warm(c, KIT, { k: 1 });
    }
    const purges = () => [one, two].map((c) => c.caches.counters.get('change_purge', 'bulk'));
    const purgesBefore = purges();
    const commandsBefore = sent.mock.calls.length;
    const rows = await outside(() => sql`update kits set name = name || ' (bulk)' where club_id = 1`);
    expect(rows).toBe(1);
    expect(purges()).toEqual(purgesBefore.map((n) => n + 1));
    // One purge per instance: a handful of commands for what the test cached, not one per row. The
    // entity level's SCAN is left out: it walks the whole keyspace 500 keys a call, so its count
    // follows whatever else the shared Redis holds, not the rows this statement touched.
    const commands = sent.mock.calls.slice(commandsBefore).filter(([c]) => c.name.toLowerCase() !== 'scan');
    expect(commands.length).toBeLessThan(200); // row by row: 700+
    for (const c of [one, two]) {
      expect((await ask(c, list, { c: 1 })).data).toEqual(await truth(list, { c: 1 }));
      expect((await ask(c, KIT, { k: 1 })).data).toEqual(await truth(KIT, { k: 1 }));
    }
  });

  it('a reseed against running servers: nothing cached before it is served after', async () => {
    const queries: [string, Record<string, unknown>?][] = [
      [KIT, { k: 1 }],
      [KIT, { k: 5 }],
      ['{ clubs(first: 100) { totalCount edges { node { id name } } } }'],
      ['{ brands { id name } }'],
      ['query($c: ID) { kits(clubId: $c, first: 5) { totalCount edges { node { id name } } } }', { c: 2 }],
    ];
    for (const c of [one, two]) for (const [q, v] of queries) await warm(c, q, v);
    // As `npm run db:seed` does: its own connection, a different data set.
    const seeder = await openDatabase({ url: database.url!, maxConnections: 1 });
    try {
      await outside(() => seed(seeder.db, { ...TEST_SEED, seed: 99 }));
    } finally {
      await seeder.close();
    }
    for (const [q, v] of queries) {
      const r = await ask(one, q, v);
      expect(r.extensions?.responseCache?.hit, q).toBe(false);
      expect(r.data, q).toEqual(await truth(q, v));
      // Instance two: the same (shared) caches, now holding what one just computed.
      expect((await ask(two, q, v)).data, q).toEqual(r.data);
    }
  });
});
