/**
 * Postgres cut off (every connection through the proxy reset, new ones refused) while Redis and the
 * caches are fine. The entity cache holds the club rows and their kit-id and season-id lists, but
 * not the kit or season rows, so a never-seen `club { kits }` or `club { seasons }` can find its ids
 * and not its rows: the case where "could not read" used to pass for "absent" (an empty list,
 * HTTP 200, no errors, then cached and served after Postgres was back).
 *
 * Here every answer is either complete (equal to the database's own) or fails the field with
 * DATABASE_UNAVAILABLE; nothing is written to either cache level; a cached public answer is still
 * served, without SQL; /ready says postgres is failing; and once the link is healed, the same app
 * answers the same queries complete.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/client.js';
import { countSql, data, gql, testApp, type GqlResult } from '../helpers/app.js';
import { backends, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase, type TestDatabase } from '../helpers/database.js';
import { proxiedPostgres } from '../helpers/proxied-postgres.js';
import type { TcpProxy } from '../helpers/tcp-proxy.js';

const TIMEOUT_MS = 1000;
const pgSkip = inject('pgTemplate') ? false : inject('pgAbsentReason');

const KITS = (id: string) => `{ club(id: ${id}) { id name kits(first: 5) { edges { node { id name } } } } }`;
const SEASONS = (id: string) => `{ club(id: ${id}) { id name seasons { id label } } }`;
/** Touches the club row and both id lists, and no kit or season row. */
const WARM = (id: string) => `{ club(id: ${id}) { id name kits(first: 0) { totalCount } } }`;
const WARM_SEASONS = (id: string) => `{ club(id: ${id}) { id seasons { id } } }`;

let database: TestDatabase;
/** The same API straight on the database, without caches: the truth. */
let truth: App;
let clubIds: string[] = [];
let seasonIds: number[] = [];

beforeAll(async () => {
  database = await openTestDatabase();
  if (pgSkip) return;
  truth = testApp(database);
  const clubs = await data<{ clubs: { edges: { node: { id: string } }[] } }>(
    truth,
    '{ clubs(first: 100) { edges { node { id } } } }',
  );
  clubIds = clubs.clubs.edges.map((e) => e.node.id);
  const seasons = await data<{ seasons: { id: string }[] }>(truth, '{ seasons { id } }');
  seasonIds = seasons.seasons.map((s) => Number(s.id));
});
afterAll(async () => {
  await database?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Complete (the database's own answer, no errors) or DATABASE_UNAVAILABLE on the failed field only. */
async function expectCompleteOrUnavailable(r: GqlResult, query: string): Promise<'complete' | 'unavailable'> {
  expect(r.status).toBe(200);
  if (!r.errors) {
    expect(r.data).toEqual(await data(truth, query));
    return 'complete';
  }
  for (const e of r.errors) {
    expect(e.message).toBe('The database is unavailable; try again shortly');
    expect(e.extensions).toEqual({ code: 'DATABASE_UNAVAILABLE' });
    expect(e.path?.[0]).toBe('club');
  }
  expect(r.data).toEqual({ club: null }); // the non-null list failed, so its nullable parent is null
  return 'unavailable';
}

describe.each(backends())('Postgres cut, caches on $backend', ({ backend, skip: redisSkip }) => {
  const skip = pgSkip || redisSkip;
  let proxy: TcpProxy;
  let proxied: Database;
  let cached: CachedApp;
  const setup = proxiedPostgres({ database: () => database, backend, skip, timeoutMs: TIMEOUT_MS });
  beforeAll(() => {
    if (!skip) ({ proxy, proxied, cached } = setup);
  });

  it.skipIf(skip)(
    `warms club rows and id lists, not kit or season rows${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      expect(clubIds.length).toBeGreaterThanOrEqual(20);
      for (const id of clubIds) {
        expect((await gql(cached.app, WARM(id))).errors).toBeUndefined();
        expect((await gql(cached.app, WARM_SEASONS(id))).errors).toBeUndefined();
      }
      // The season rows came along with their ids; drop them, keep the lists.
      await cached.caches.entityCache.invalidate(seasonIds.map((id) => ({ namespace: 'Season' as const, id })));
      await cached.caches.settled();
      const fills = (namespace: string) => cached.caches.counters.get('entity_fill', namespace);
      expect(fills('Club')).toBe(clubIds.length);
      expect(fills('Club.kitIds')).toBe(clubIds.length);
      expect(fills('Club.seasonIds')).toBe(clubIds.length);
      expect(fills('Kit')).toBe(0);
      expect(cached.caches.counters.get('response_write')).toBe(2 * clubIds.length);
    },
  );

  it.skipIf(skip)('answers never-seen queries complete or with DATABASE_UNAVAILABLE, and caches none', async () => {
    const writes = cached.caches.counters.get('response_write');
    const entityFills = cached.caches.counters.get('entity_fill');
    // Hits at either level of the entity cache (Redis, or the in-process layer in front of it).
    const clubHitsNow = () =>
      cached.caches.counters.get('entity_hit', 'Club') + cached.caches.counters.get('entity_local_hit', 'Club');
    const clubHits = clubHitsNow();
    proxy.cut();

    const outcomes: string[] = [];
    for (const id of clubIds) {
      for (const query of [KITS(id), SEASONS(id)]) {
        outcomes.push(await expectCompleteOrUnavailable(await gql(cached.app, query), query));
      }
    }
    // Every one of them needed a row only Postgres has.
    expect(outcomes.filter((o) => o === 'unavailable')).toHaveLength(2 * clubIds.length);
    // The club rows did come from the entity cache (the answers failed on the lists, not before).
    expect(clubHitsNow() - clubHits).toBe(2 * clubIds.length);

    await cached.caches.settled();
    expect(cached.caches.counters.get('response_write') - writes).toBe(0);
    expect(cached.caches.counters.get('entity_fill') - entityFills).toBe(0);
  });

  it.skipIf(skip)('still serves a cached public answer, from the cache alone', async () => {
    expect(proxy.mode).toBe('cut');
    const query = WARM(clubIds[0]!);
    const { result: response, statements } = await countSql(proxied, () =>
      cached.front.fetch('http://kitvault.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ query }),
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('x-cache')).toBe('HIT');
    const body = (await response.json()) as GqlResult;
    expect(body.errors).toBeUndefined();
    expect(body.data).toEqual(await data(truth, query));
    expect(statements).toEqual([]);
  });

  it.skipIf(skip)('says at /ready that postgres is failing', async () => {
    const r = await cached.app.fetch('http://kitvault.test/ready');
    expect(r.status).toBe(503);
    const body = (await r.json()) as { ready: boolean; checks: Record<string, string> };
    expect(body.ready).toBe(false);
    expect(body.checks.postgres).toMatch(/^failing/);
  });

  it.skipIf(skip)('answers the same queries complete once the link is healed, without a restart', async () => {
    proxy.heal();
    // The pool connects again by itself; its backoff is capped at half the timeout.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await proxied.ping();
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(100);
      }
    }
    await sleep(TIMEOUT_MS / 2);
    const counter = (name: 'response_write' | 'response_lease_busy') => cached.caches.counters.get(name);
    const writes = counter('response_write');
    const leaseBusy = counter('response_lease_busy');
    for (const id of clubIds) {
      for (const query of [KITS(id), SEASONS(id)]) {
        const r = await gql(cached.app, query);
        expect(await expectCompleteOrUnavailable(r, query)).toBe('complete');
        expect(r.extensions?.responseCache).toMatchObject({ hit: false });
        // Not an empty list from anywhere: every club of the seed has kits and seasons.
        const club = r.data!.club as { kits?: { edges: unknown[] }; seasons?: unknown[] };
        expect((club.kits?.edges ?? club.seasons ?? []).length).toBeGreaterThan(0);
      }
    }
    await cached.caches.settled();
    // Each is cached again: its failed attempt during the cut gave its fill lease back (and a lease
    // left behind would be this server's own), so the retry fills and nothing waits.
    expect(counter('response_lease_busy') - leaseBusy).toBe(0);
    expect(counter('response_write') - writes).toBe(2 * clubIds.length);
  });
});
