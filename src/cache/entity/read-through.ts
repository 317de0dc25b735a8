/**
 * The entity cache proper, over any EntityStorage: batched read-through with negative caching,
 * leases against stale sets, single-flight within the process, and failing open to the database.
 *
 * One batch (one DataLoader dispatch) costs one storage round trip to read (and lease) every key,
 * one `fetch` (one SQL statement) for the misses only, and one round trip to fill what it leased.
 * Concurrent batches in this process that want a key already being read join that read instead of
 * starting their own; an invalidation detaches such reads, so nobody joins a read that began before it.
 */
import { randomBytes } from 'node:crypto';
import { decode, encode } from '@msgpack/msgpack';
import type { CacheCounters } from '../counters.js';
import { CircuitOpenError, type CircuitBreaker } from '../redis/circuit-breaker.js';
import type { RedisErrorReporter } from '../redis/error-reporter.js';
import type { EntityCache, EntityFetch, EntityKey } from './entity-cache.js';
import type { EntityStorage } from './storage.js';

/** Bump when the shape of a cached row changes: old values are then never read (new keys). */
// 2: User values are the public projection (no password hash); values under 1 may still hold one.
export const ENTITY_FORMAT_VERSION = 2;

/** msgpack never emits 0xc1, so it cannot collide with an encoded value. */
const ABSENT = Buffer.from([0xc1]);
const pack = (value: unknown): Buffer => {
  const bytes = encode(value);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

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
};

type Deferred = { promise: Promise<unknown>; resolve(v: unknown): void; reject(e: unknown): void };

function deferred(): Deferred {
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<unknown>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // observed by whoever joins; never an unhandled rejection here
  return { promise, resolve, reject };
}

export function createReadThroughCache<N extends string = string>(options: EntityCacheOptions<N>): EntityCache<N> {
  const { storage, counters, report } = options;
  const leaseMs = options.leaseMs ?? 2000;
  const inflight = new Map<string, Deferred>();
  const keyOf = (namespace: string, id: number) => `${options.prefix}{e:${ENTITY_FORMAT_VERSION}:${namespace}:${id}}`;
  const run = <T>(call: () => Promise<T>, kind: 'command' | 'invalidation' = 'command') =>
    options.breaker ? options.breaker.run(call, kind) : call();
  /** Short-circuited calls are counted, not reported: the failure that opened the breaker was. */
  const failed = (where: string, error: unknown) => {
    if (error instanceof CircuitOpenError) counters.inc('redis_short_circuit', where);
    else report(where, error);
  };

  return {
    shared: true,
    async readThrough<V>(namespace: N, ids: readonly number[], fetch: EntityFetch<V>): Promise<(V | null)[]> {
      const waits = new Map<number, Promise<unknown>>();
      const mine = new Map<number, Deferred>();
      for (const id of ids) {
        if (waits.has(id)) continue;
        const joined = inflight.get(`${namespace}:${id}`);
        if (joined) {
          waits.set(id, joined.promise);
        } else {
          const d = deferred();
          mine.set(id, d);
          inflight.set(`${namespace}:${id}`, d);
          waits.set(id, d.promise);
        }
      }
      if (mine.size) {
        try {
          await readMine(namespace, [...mine.keys()], mine, fetch);
        } catch (error) {
          // Whatever went wrong, every key settles (DataLoader's rule): nobody who joined waits forever.
          for (const d of mine.values()) d.reject(error);
        } finally {
          for (const [id, d] of mine)
            if (inflight.get(`${namespace}:${id}`) === d) inflight.delete(`${namespace}:${id}`);
        }
      }
      const values = await Promise.all(ids.map((id) => waits.get(id)!));
      return values as (V | null)[];
    },

    async clear() {
      inflight.clear();
      return storage.clear(options.prefix);
    },
    entries: () => storage.entries(),

    async invalidate(keys: readonly EntityKey<N>[]) {
      if (!keys.length) return true;
      for (const { namespace, id } of keys) {
        inflight.delete(`${namespace}:${id}`);
        counters.inc('entity_invalidation', namespace);
      }
      try {
        await run(() => storage.invalidate(keys.map((k) => keyOf(k.namespace, k.id))), 'invalidation');
        return true;
      } catch (error) {
        counters.inc('entity_invalidation_failed');
        failed('entity.invalidate', error);
        return false;
      }
    },
  };

  async function readMine<V>(namespace: N, ids: number[], mine: Map<number, Deferred>, fetch: EntityFetch<V>) {
    const keys = ids.map((id) => keyOf(namespace, id));
    const token = randomBytes(9).toString('base64url');
    let outcomes: Awaited<ReturnType<EntityStorage['readOrLease']>> | null = null;
    try {
      outcomes = await run(() => storage.readOrLease(keys, token, leaseMs));
    } catch (error) {
      failed('entity.read', error);
    }

    const missing: number[] = [];
    const leased = new Set<number>();
    ids.forEach((id, i) => {
      const outcome = outcomes?.[i];
      if (outcome?.kind === 'hit') {
        if (outcome.value.equals(ABSENT)) {
          counters.inc('entity_negative_hit', namespace);
          mine.get(id)!.resolve(null);
          return;
        }
        const value = decodeOrUndefined(outcome.value);
        if (value !== undefined) {
          counters.inc('entity_hit', namespace);
          mine.get(id)!.resolve(value);
          return;
        }
        // Bytes this version cannot read: a miss (read the database; the holder of no lease does not fill).
      }
      counters.inc('entity_miss', namespace);
      missing.push(id);
      if (outcome?.kind === 'leased') leased.add(id);
    });
    if (!missing.length) return;

    let found: Map<number, V>;
    try {
      found = await fetch(missing);
    } catch (error) {
      for (const id of missing) mine.get(id)!.reject(error);
      return;
    }
    for (const id of missing) mine.get(id)!.resolve(found.get(id) ?? null);

    const fills = missing
      .filter((id) => leased.has(id))
      .map((id) => {
        const value = found.get(id);
        return value === undefined
          ? { key: keyOf(namespace, id), value: ABSENT, ttlMs: options.negativeTtlMs }
          : { key: keyOf(namespace, id), value: pack(value), ttlMs: options.ttlMs(namespace) };
      });
    if (!fills.length) return;
    try {
      const stored = await run(() => storage.fill(fills, token));
      const accepted = stored.filter(Boolean).length;
      counters.inc('entity_fill', namespace, accepted);
      if (accepted < stored.length) counters.inc('entity_fill_refused', namespace, stored.length - accepted);
    } catch (error) {
      failed('entity.fill', error);
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
