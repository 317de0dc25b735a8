/**
 * The envelop `Cache` interface over a ResponseStore, made per request: it carries the write guard
 * from the lookup to the write, stores the body exactly as it will be sent (with its ETag and
 * freshness header), joins or leads coalesced misses, and counts what it did.
 */
import type { Cache, CacheEntityRecord } from '@envelop/response-cache';
import type { ExecutionResult } from 'graphql';
import type { CacheCounters } from '../counters.js';
import { edgeKeysOf } from '../edge/keys.js';
import { awaitFlight, LEASE_MS, waitForFill, type Flights } from './coalescing.js';
import { decodeEntry, encodeEntry, etagOf, freshness, type EntryMeta } from './entry.js';
import type { Handoff } from './handoff.js';
import type { RequestState } from './request-state.js';
import { MAX_ENTRY_TTL_MS, MAX_EXECUTION_MS, type Lookup, type ResponseStore } from './store.js';

export type StoreAdapterDeps = {
  store: ResponseStore;
  counters: CacheCounters;
  flights: Flights;
  graceMs: number;
  /** How long a joined miss is waited for. */
  joinWaitMs: number;
  /** Keeps a write until it lands, for `settled()`. */
  track(write: Promise<unknown>): void;
};

const parse = (body: string) => JSON.parse(body) as ExecutionResult;

export function storeAdapter(
  deps: StoreAdapterDeps,
  state: RequestState | undefined,
  handoff: Handoff | undefined,
): Cache {
  const { store, counters, flights } = deps;
  /**
   * The lean hit already looked this key up: a miss then costs no second lookup. Either lookup asks
   * for the fill lease on a miss (a miss here executes); the store takes it with the lookup where
   * that is a script, and a lookup that carries none (an expired entry, a failed lease) leaves
   * `get` to ask for it.
   */
  const lookup = (key: string): Promise<Lookup> =>
    handoff?.lookup && handoff.lookup.key === key
      ? Promise.resolve(handoff.lookup.lookup)
      : store.lookup(key, false, LEASE_MS);

  return {
    async get(key) {
      const found = await lookup(key);
      // A refresh replaces a stale entry, so it must not be answered from it.
      const refresh = handoff?.refresh === true;
      if (state) {
        state.generation = found.generation;
        state.lookedUpAt = Date.now();
      }
      const entry = found.value === null || refresh ? null : decodeEntry(found.value);
      // A stale entry is served by the lean hit while it refreshes; here it is a miss.
      if (entry && freshness(entry.meta).state === 'fresh') {
        if (state) {
          state.outcome = 'hit';
          state.entry = entry.meta;
        }
        counters.inc('response_hit', state?.scope);
        return parse(entry.body.toString());
      }
      if (state) state.outcome = 'miss';
      counters.inc('response_miss', state?.scope);
      if (!state || refresh) return null;

      const joined = flights.joinable(key, found.generation);
      if (joined) {
        const body = await awaitFlight(joined, deps.joinWaitMs);
        if (body === null) return null;
        counters.inc('response_coalesced', state.scope);
        return parse(body);
      }
      if (flights.busy(key)) return null; // a flight from another generation: run alone
      const flight = flights.lead(key, found.generation);
      state.leading = { key, flight, leased: false };
      const lease = found.lease ?? (await store.lease(key, LEASE_MS));
      state.leading.leased = lease === 'acquired';
      if (lease === 'held') {
        const filled = await waitForFill(store, key);
        if (filled) {
          counters.inc('response_coalesced', state.scope);
          state.entry = filled.meta;
          state.outcome = 'hit';
          flight.settle(filled.body);
          return parse(filled.body);
        }
        counters.inc('response_lease_busy', state.scope);
        state.noWrite = true;
      }
      return null;
    },

    set(key, result, entities, ttl) {
      if (!state || state.generation === null) return;
      const body = JSON.stringify(result);
      const maxAgeMs = Math.min(ttl, MAX_ENTRY_TTL_MS);
      const tags = new Set(state.tags);
      for (const e of entities as Iterable<CacheEntityRecord>) {
        // Type-only records (empty lists, nulls) are covered by the list and by-id tags instead.
        if (e.id !== undefined && e.id !== null) tags.add(`${e.typename}:${e.id}`);
      }
      const entry: EntryMeta = {
        etag: etagOf(body),
        storedAt: Date.now(),
        maxAgeMs,
        graceMs: deps.graceMs,
        scope: state.scope,
        // Kept in the entry, so the lean hit names them to the edge with the same one read.
        edgeKeys: state.scope === 'PUBLIC' ? edgeKeysOf(tags) : null,
      };
      state.entry = entry;
      if (state.leading?.key === key) state.leading.flight.settle(body);
      if (state.noWrite) return;
      if (Date.now() - state.lookedUpAt > MAX_EXECUTION_MS) {
        counters.inc('response_write_refused', 'slow');
        return;
      }
      const scope = state.scope;
      const write = store
        .store(key, encodeEntry(entry, body), [...tags], maxAgeMs + deps.graceMs, state.generation)
        .then((outcome) => {
          if (outcome === 'stored') counters.inc('response_write', scope);
          else if (outcome !== 'failed') counters.inc('response_write_refused', outcome);
          return outcome; // the headers tell the edge to keep only what was stored
        });
      state.write = write;
      deps.track(write);
    },

    // Unused: invalidation is explicit (invalidateViaMutation is off).
    invalidate: () => undefined,
  };
}
