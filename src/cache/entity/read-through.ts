/**
 * The entity cache proper, over any EntityStorage: batched read-through with negative caching,
 * leases against stale sets, single-flight within the process, and failing open to the database.
 *
 * One batch (one DataLoader dispatch) costs one storage round trip to read (and lease) every key,
 * one `fetch` (one SQL statement) for the misses only, and one round trip to fill what it leased;
 * the batches of one turn of the event loop with the same fetch and namespace, whichever requests
 * they come from, are read as one (turn-batches.ts).
 * Concurrent batches in this process that want a key already being read join that read instead of
 * starting their own; an invalidation detaches such reads, so nobody joins a read that began before it.
 */
import { decode, encode } from '@msgpack/msgpack';
import type { CacheCounters } from '../counters.js';
import { randomBase64url } from '../random.js';
import { CircuitOpenError, type CircuitBreaker } from '../redis/circuit-breaker.js';
import type { RedisErrorReporter } from '../redis/error-reporter.js';
import type { EntityCache, EntityFetch, EntityKey, GroupFetch } from './entity-cache.js';
import { UNNAMED_DROPS_LAYER, type Drop, type DropChannel } from '../local/drop-channel.js';
import type { LocalLayer } from '../local/local-layer.js';
import type { EntityStorage, Fill, ReadOutcome } from './storage.js';
import { createTurnBatches, type Settled } from './turn-batches.js';

/** Bump when the shape of a cached row changes: old values are then never read (new keys). */
// 2: User values are the public projection (no password hash); values under 1 may still hold one.
export const ENTITY_FORMAT_VERSION = 2;

/** msgpack never emits 0xc1, so it cannot collide with an encoded value. */
const ABSENT = Buffer.from([0xc1]);
const pack = (value: unknown): Buffer => {
  const bytes = encode(value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

/** The name of this cache's drops on the drop channel (which several layers share). */
export const ENTITY_LAYER_NAME = UNNAMED_DROPS_LAYER;

export type EntityCacheOptions<N extends string> = {
  storage: EntityStorage;
  prefix: string;
  /** TTL of a found value, by namespace (e.g. 'Kit', 'Club.kitIds'). */
  ttlMs: (namespace: N) => number;
  /** TTL of a cached absence. */
  negativeTtlMs: number;
  /** How long one reader may hold the right to fill a key. */
  leaseMs?: number;
  counters: CacheCounters;
  report: RedisErrorReporter;
  /** Stops asking a storage that failed until it is back (see CircuitBreaker). Default: none. */
  breaker?: CircuitBreaker;
  /**
   * An in-process layer in front of the storage, kept coherent by a drop channel (cache/local/). Default: none.
   */
  local?: { layer: LocalLayer; channel: DropChannel };
};

/**
 * One batch's read as others may join it: `done` settles when every key of the batch has its value
 * or its error. One promise per batch, not per key: a request reads about a hundred keys.
 */
type Flight = { done: Promise<void>; values: Map<unknown, unknown>; errors: Map<unknown, unknown> };

/** How readMine hands over each key's outcome. */
type Settle<K> = { value(id: K, value: unknown): void; fail(id: K, error: unknown): void };

export function createReadThroughCache<N extends string = string>(options: EntityCacheOptions<N>): EntityCache<N> {
  const { storage, counters, report } = options;
  const leaseMs = options.leaseMs ?? 2000;
  /** Reads in flight in this process, by `namespace:id`; a group's by value key, under its group. */
  const inflight = new Map<string, Flight>();
  const groupInflight = new Map<string, Map<string, Flight>>();
  const turns = createTurnBatches();
  const keyOf = (namespace: string, id: number) => `${options.prefix}{e:${ENTITY_FORMAT_VERSION}:${namespace}:${id}}`;
  const groupKeyOf = (group: string) => `${options.prefix}{g:${ENTITY_FORMAT_VERSION}:${group}}`;
  const run = <T>(call: () => Promise<T>, kind: 'command' | 'invalidation' = 'command') =>
    options.breaker ? options.breaker.run(call, kind) : call();
  /** Short-circuited calls are counted, not reported: the failure that opened the breaker was. */
  const failed = (where: string, error: unknown) => {
    if (error instanceof CircuitOpenError) counters.inc('redis_short_circuit', where);
    else report(where, error);
  };

  /**
   * The in-process layer, when it may be used now: coherent (its drop channel is live) and trusted
   * (the breaker is closed: while it is not, this instance trusts nothing it learnt from Redis until
   * it has caught up with the invalidations it could not deliver).
   */
  const usableLocal = () => {
    const local = options.local;
    if (!local || (options.breaker && options.breaker.current !== 'closed')) return null;
    return local.channel.live() ? local : null;
  };

  /**
   * What this process's layer holds answers at once: no round trip, no decoding, and none of the
   * single flight's bookkeeping (a warm request reads about a hundred keys). `read` gets the rest.
   * Same length and order as `ids`.
   */
  function localFirst<K, V>(
    namespace: N,
    ids: readonly K[],
    storageKey: (id: K) => string,
    read: (rest: readonly K[]) => Promise<(V | null)[]>,
  ): Promise<(V | null)[]> {
    const local = usableLocal();
    if (!local) return read(ids);
    const values = new Array<V | null>(ids.length);
    const rest: K[] = [];
    const restAt: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const held = local.layer.get(storageKey(ids[i]!));
      if (held) values[i] = held.value as V | null;
      else {
        rest.push(ids[i]!);
        restAt.push(i);
      }
    }
    if (rest.length < ids.length) counters.inc('entity_local_hit', namespace, ids.length - rest.length);
    if (!rest.length) return Promise.resolve(values);
    return read(rest).then((found) => {
      for (let j = 0; j < found.length; j++) values[restAt[j]!] = found[j]!;
      return values;
    });
  }

  /**
   * Single flight: each key is read by one batch at a time in this process; a batch that wants a key
   * already being read waits for that read. `load` settles every key it is handed (its own).
   */
  async function through<K extends number | string>(
    flights: Map<string, Flight>,
    flightKey: (id: K) => string,
    ids: readonly K[],
    load: (mine: K[], settle: Settle<K>) => Promise<void>,
    told?: (id: K, outcome: Settled) => void,
  ): Promise<Map<K, Settled>> {
    let finish!: () => void;
    const own: Flight = { done: new Promise<void>((r) => (finish = r)), values: new Map(), errors: new Map() };
    const mine: K[] = [];
    const mineKeys: string[] = [];
    let joined: Map<K, Flight> | null = null;
    for (const id of ids) {
      const key = flightKey(id);
      const flight = flights.get(key);
      if (flight === own) continue;
      if (flight) {
        (joined ??= new Map()).set(id, flight);
      } else {
        mine.push(id);
        mineKeys.push(key);
        flights.set(key, own);
      }
    }
    const outcomeOf = (flight: Flight, id: K): Settled =>
      flight.errors.has(id)
        ? { ok: false, error: flight.errors.get(id) }
        : { ok: true, value: flight.values.get(id) ?? null };
    // `told` hears each key as soon as `load` settles it (a found key at once, a fetched one once its
    // fill is done), and those who joined once all of this batch's keys are settled.
    const settledOne = (id: K) => {
      told?.(id, outcomeOf(own, id));
      if (own.values.size + own.errors.size === mine.length) finish();
    };
    const joinedDone = joined
      ? Promise.all(
          [...new Set(joined.values())].map((f) =>
            f.done.then(() => {
              for (const [id, flight] of joined) if (flight === f) told?.(id, outcomeOf(f, id));
            }),
          ),
        )
      : null;
    if (mine.length) {
      try {
        await load(mine, {
          value: (id, value) => {
            own.values.set(id, value);
            settledOne(id);
          },
          fail: (id, error) => {
            own.errors.set(id, error);
            settledOne(id);
          },
        });
      } catch (error) {
        // Whatever went wrong, every key settles (DataLoader's rule): nobody who joined waits forever.
        for (const id of mine)
          if (!own.values.has(id) && !own.errors.has(id)) {
            own.errors.set(id, error);
            settledOne(id);
          }
      } finally {
        for (const key of mineKeys) if (flights.get(key) === own) flights.delete(key);
        finish();
      }
    }
    if (joinedDone) await joinedDone;
    const outcomes = new Map<K, Settled>();
    for (const id of ids) outcomes.set(id, outcomeOf(joined?.get(id) ?? own, id));
    return outcomes;
  }

  /** As `through`, in key order, throwing the first error. */
  async function throughInOrder<K extends number | string, V>(
    flights: Map<string, Flight>,
    flightKey: (id: K) => string,
    ids: readonly K[],
    load: (mine: K[], settle: Settle<K>) => Promise<void>,
  ): Promise<(V | null)[]> {
    const outcomes = await through(flights, flightKey, ids, load);
    return ids.map((id) => {
      const outcome = outcomes.get(id)!;
      if (!outcome.ok) throw outcome.error;
      return outcome.value as V | null;
    });
  }

  return {
    shared: true,
    readThrough<V>(namespace: N, ids: readonly number[], fetch: EntityFetch<V>): Promise<(V | null)[]> {
      const storageKey = (id: number) => keyOf(namespace, id);
      // What the layer did not hold is read with the same kind's reads of this turn (turn-batches.ts).
      return localFirst<number, V>(namespace, ids, storageKey, async (rest) => {
        const values = await turns.read(fetch, namespace, rest, async (merged, told) => {
          await through<number>(
            inflight,
            (id) => `${namespace}:${id}`,
            merged,
            (mine, settle) =>
              readMine(namespace, mine, settle, storageKey, null, fetch, {
                read: (keys, token) => storage.readOrLease(keys, token, leaseMs),
                fill: (fills, token) => storage.fill(fills, token),
              }),
            told,
          );
        });
        return values as (V | null)[];
      });
    },

    peek<V>(namespace: N, id: number): { value: V | null } | undefined {
      const held = usableLocal()?.layer.get(keyOf(namespace, id));
      if (held) counters.inc('entity_local_hit', namespace);
      return held as { value: V | null } | undefined;
    },

    readGroup<V>(namespace: N, group: string, keys: readonly string[], fetch: GroupFetch<V>): Promise<(V | null)[]> {
      const groupKey = groupKeyOf(group);
      const ttlMs = options.ttlMs(namespace);
      // The version this batch read under: its fills are refused if the group was dropped since.
      let version = '';
      const storageKey = (key: string) => `${groupKey}:${namespace}:${key}`;
      // The group's flights exist only while a read of it is in flight (a group name can come from a
      // client: `Club.country:<any text>`), so a read the layer answered whole makes none.
      return localFirst<string, V>(namespace, keys, storageKey, (rest) => {
        let flights = groupInflight.get(group);
        if (!flights) groupInflight.set(group, (flights = new Map()));
        return throughInOrder<string, V>(
          flights,
          (key) => `${namespace}:${key}`,
          rest,
          (mine, settle) =>
            readMine(namespace, mine, settle, storageKey, groupKey, fetch, {
              read: async (storageKeys, token) => {
                const answer = await storage.readGroup(groupKey, storageKeys, token, leaseMs, ttlMs);
                version = answer.version;
                return answer.outcomes;
              },
              fill: (fills, token) => storage.fillGroup(groupKey, version, fills, token),
            }),
        ).finally(() => {
          if (groupInflight.get(group)?.size === 0) groupInflight.delete(group);
        });
      });
    },

    async clear() {
      inflight.clear();
      groupInflight.clear();
      dropHere({ layer: ENTITY_LAYER_NAME, keys: [], groups: [], all: true });
      const dropped = await storage.clear(options.prefix);
      await dropLocally({ layer: ENTITY_LAYER_NAME, keys: [], groups: [], all: true });
      return dropped;
    },
    entries: () => storage.entries(),

    async invalidate(keys: readonly EntityKey<N>[]) {
      if (!keys.length) return true;
      for (const { namespace, id } of keys) {
        inflight.delete(`${namespace}:${id}`);
        counters.inc('entity_invalidation', namespace);
      }
      const storageKeys = keys.map((k) => keyOf(k.namespace, k.id));
      return dropEverywhere('entity.invalidate', { layer: ENTITY_LAYER_NAME, keys: storageKeys, groups: [] }, () =>
        storage.invalidate(storageKeys),
      );
    },

    async invalidateGroups(groups: readonly string[]) {
      if (!groups.length) return true;
      for (const group of groups) groupInflight.delete(group);
      counters.inc('entity_group_invalidation', undefined, groups.length);
      const groupKeys = groups.map(groupKeyOf);
      return dropEverywhere('entity.invalidateGroups', { layer: ENTITY_LAYER_NAME, keys: [], groups: groupKeys }, () =>
        storage.invalidateGroups(groupKeys),
      );
    },
  };

  /**
   * Drops from the storage, then from every instance's layer; answers whether all of it was delivered.
   * This process's layer is emptied twice: before the storage is asked (so it stops serving the old
   * value even if Redis fails), and again after (a batch that began between the two may have read
   * the old value from Redis before the drop reached it).
   */
  function dropEverywhere(where: string, drop: Drop, fromStorage: () => Promise<void>): Promise<boolean> {
    dropHere(drop);
    return deliver(where, async () => {
      await fromStorage();
      await dropLocally(drop);
    });
  }

  /**
   * After the storage has dropped them: out of this process's layer (read-your-writes), then out of
   * every other instance's, waiting until they have done it (cache/local/drop-channel.ts).
   */
  async function dropLocally(drop: Drop): Promise<void> {
    if (!options.local) return;
    dropHere(drop);
    await options.local.channel.announce(drop);
  }

  /** Out of this process's layer; its marks move, so a batch that read before this keeps none of it. */
  function dropHere(drop: Drop): void {
    if (!options.local) return;
    options.local.channel.bump(drop);
    if (drop.all) options.local.layer.clear();
    else options.local.layer.drop(drop.keys, drop.groups);
  }

  async function deliver(where: string, call: () => Promise<void>): Promise<boolean> {
    try {
      await run(call, 'invalidation');
      return true;
    } catch (error) {
      counters.inc('entity_invalidation_failed');
      failed(where, error);
      return false;
    }
  }

  /** One batch of this process's own keys: one read (and lease), one fetch of the misses, one fill. */
  async function readMine<K extends number | string, V>(
    namespace: N,
    wanted: K[],
    settle: Settle<K>,
    storageKey: (id: K) => string,
    group: string | null,
    fetch: (ids: K[]) => Promise<Map<K, V>>,
    backend: {
      read(keys: string[], token: string): Promise<ReadOutcome[]>;
      fill(fills: Fill[], token: string): Promise<boolean[]>;
    },
  ) {
    // (localFirst has answered what the layer held, in this same tick.) What this batch reads, the
    // layer keeps, unless a drop is heard before it has it.
    const local = usableLocal();
    const epoch = local?.channel.epoch();
    const ids = wanted;
    const groups = group === null ? [] : [group];
    /** Keeps a value locally, unless a drop of its key or group was heard since this batch began (it may predate it). */
    const keep = (key: string, value: unknown, bytes: number, ttlMs: number) => {
      // Twice the encoded size: the decoded objects take about that much.
      if (local && epoch !== undefined) local.layer.set(key, value, bytes * 2, ttlMs, groups, epoch);
    };
    const keys = ids.map(storageKey);
    const token = randomBase64url(9);
    let outcomes: ReadOutcome[] | null = null;
    try {
      outcomes = await run(() => backend.read(keys, token));
    } catch (error) {
      failed('entity.read', error);
    }

    const missing: K[] = [];
    const leased = new Set<K>();
    ids.forEach((id, i) => {
      const outcome = outcomes?.[i];
      if (outcome?.kind === 'hit') {
        if (outcome.value.equals(ABSENT)) {
          counters.inc('entity_negative_hit', namespace);
          settle.value(id, null);
          keep(keys[i]!, null, 1, options.negativeTtlMs);
          return;
        }
        const value = decodeOrUndefined(outcome.value);
        if (value !== undefined) {
          counters.inc('entity_hit', namespace);
          settle.value(id, value);
          keep(keys[i]!, value, outcome.value.length, options.ttlMs(namespace));
          return;
        }
        // Bytes this version cannot read: a miss (read the database; the holder of no lease does not fill).
      }
      counters.inc('entity_miss', namespace);
      missing.push(id);
      if (outcome?.kind === 'leased') leased.add(id);
    });
    if (!missing.length) return;

    let found: Map<K, V>;
    try {
      found = await fetch(missing);
    } catch (error) {
      for (const id of missing) settle.fail(id, error);
      return;
    }
    // Answered once what it leased is stored (or refused), as the reader's next request then finds
    // it; keys answered earlier (hits) do not wait for this fetch or fill.
    try {
      const filled = new Map<string, unknown>();
      const fills = missing
        .filter((id) => leased.has(id))
        .map((id) => {
          filled.set(storageKey(id), found.get(id));
          const value = found.get(id);
          return value === undefined
            ? { key: storageKey(id), value: ABSENT, ttlMs: options.negativeTtlMs }
            : { key: storageKey(id), value: pack(value), ttlMs: options.ttlMs(namespace) };
        });
      if (!fills.length) return;
      try {
        const stored = await run(() => backend.fill(fills, token));
        // What was stored is what the storage holds now: keep it locally too.
        stored.forEach((ok, i) => {
          const fill = fills[i]!;
          if (ok) keep(fill.key, fill.value === ABSENT ? null : filled.get(fill.key), fill.value.length, fill.ttlMs);
        });
        const accepted = stored.filter(Boolean).length;
        counters.inc('entity_fill', namespace, accepted);
        if (accepted < stored.length) counters.inc('entity_fill_refused', namespace, stored.length - accepted);
      } catch (error) {
        failed('entity.fill', error);
      }
    } finally {
      for (const id of missing) settle.value(id, found.get(id) ?? null);
    }
  }
}

function decodeOrUndefined(bytes: Buffer): unknown {
  try {
    return decode(bytes);
  } catch {
    return undefined;
  }
}
