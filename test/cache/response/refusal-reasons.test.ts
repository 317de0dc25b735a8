/**
 * A write-back the store does not keep is counted by why (`kitvault_response_cache_refused_writes_total`):
 * stale (an invalidation, or its bucket starting over, since its lookup), unfit (a tag the store
 * cannot keep), fenced (the write found its bucket's evidence lost or full and started it over),
 * slow, unvouched. Unfit is a bug in what is cached, stale mostly a race with a write: a dashboard
 * must tell them apart. Real Redis, through the adapter the response-cache plugin uses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CacheCounters } from '../../../src/cache/counters.js';
import type { RedisClient } from '../../../src/cache/redis/client.js';
import { Flights, JOIN_WAIT_MS } from '../../../src/cache/response/coalescing.js';
import { createRedisResponseStore } from '../../../src/cache/response/redis-store.js';
import { newRequestState } from '../../../src/cache/response/request-state.js';
import { storeAdapter } from '../../../src/cache/response/store-adapter.js';
import type { ResponseStore } from '../../../src/cache/response/store.js';
import { dropPrefix, newPrefix, redisAvailable, redisSkipReason, testRedis } from '../../helpers/caches.js';

const skip = redisAvailable() ? false : redisSkipReason();

let redis: RedisClient;
let prefix: string;
let store: ResponseStore;
let counters: CacheCounters;

beforeAll(() => {
  if (skip) return;
  redis = testRedis();
  prefix = newPrefix();
  store = createRedisResponseStore({ redis, prefix });
  counters = new CacheCounters();
});
afterAll(async () => {
  if (skip) return;
  await dropPrefix(redis, prefix);
  redis.disconnect();
});

/** One request's miss and write-back, as the plugin makes them; `between` runs after the lookup. */
async function missThenWrite(key: string, entities: { typename: string; id: string }[], between = async () => {}) {
  const state = newRequestState('PUBLIC', null);
  const writes: Promise<unknown>[] = [];
  const adapter = storeAdapter(
    { store, counters, flights: new Flights(), graceMs: 0, joinWaitMs: JOIN_WAIT_MS, track: (w) => writes.push(w) },
    state,
    undefined,
  );
  expect(await adapter.get(key)).toBeNull();
  await between();
  await adapter.set(key, { data: { kit: { id: entities[0]!.id } } }, entities, 10_000);
  return Promise.all(writes);
}

/** How `work` moved the refused-write counters, by reason, and the stored-write counter. */
async function countsDuring(work: () => Promise<unknown>) {
  const reasons = ['stale', 'unfit', 'fenced', 'unvouched'] as const;
  const before = reasons.map((r) => counters.get('response_write_refused', r));
  const storedBefore = counters.get('response_write', 'PUBLIC');
  await work();
  const after = reasons.map((r) => counters.get('response_write_refused', r));
  return {
    refused: Object.fromEntries(reasons.map((r, i) => [r, after[i]! - before[i]!])),
    stored: counters.get('response_write', 'PUBLIC') - storedBefore,
  };
}

describe('refused write-backs, by reason', () => {
  it.skipIf(skip)(`counts an unfit tag as unfit, not stale${skip ? ` (skipped: ${skip})` : ''}`, async () => {
    // An id with a tab: its tag could not be written on the entry's one tab-separated line.
    const counts = await countsDuring(async () =>
      expect(await missThenWrite('unfit-1', [{ typename: 'Kit', id: 'a\tb' }])).toEqual(['unfit']),
    );
    expect(counts.refused).toEqual({ stale: 0, unfit: 1, fenced: 0, unvouched: 0 });
  });

  it.skipIf(skip)('counts a write that an invalidation overtook as stale', async () => {
    const counts = await countsDuring(async () =>
      expect(await missThenWrite('stale-1', [{ typename: 'Kit', id: '7' }], () => store.invalidate(['Kit:7']))).toEqual(
        ['stale'],
      ),
    );
    expect(counts.refused).toEqual({ stale: 1, unfit: 0, fenced: 0, unvouched: 0 });
  });

  it.skipIf(skip)('counts nothing refused for a write that was stored', async () => {
    const counts = await countsDuring(async () =>
      expect(await missThenWrite('stored-1', [{ typename: 'Kit', id: '8' }])).toEqual(['stored']),
    );
    expect(counts.refused).toEqual({ stale: 0, unfit: 0, fenced: 0, unvouched: 0 });
    expect(counts.stored).toBe(1);
  });
});
