/**
 * The response store's contract, shared by the Redis and the in-memory implementation.
 *
 * Entries are serialised responses under a key, each with its tags. Once a tag is invalidated, no
 * entry that carries it is served again (a store may drop it then, or when it is next read).
 * Writes are guarded against stale write-back: `lookup` hands out a `generation` along with the
 * miss, and `store` refuses the write if any of the entry's tags was invalidated after that
 * generation was read (the query may have read pre-mutation data).
 *
 * A store that can lose part of its state (Redis evicts any key) fails closed: what it cannot
 * vouch for is a miss on `lookup` and a refusal on `store`, never an entry an invalidation missed.
 */
import type { DecodedEntry } from './entry.js';

export type Lookup = {
  /** The stored bytes (as given to `store`), or null on a miss. */
  value: Buffer | null;
  /**
   * The write guard to pass back to `store` for this key: opaque to its callers, which compare it
   * for equality only (coalescing); the store that handed it out may read more into it.
   */
  generation: string;
  /**
   * Only when asked for (`forLayer`): the tags the entry was stored with, read with it (an
   * in-process layer keeps a value only with them, to drop it by tag); null when they could not be.
   */
  tags?: readonly string[] | null;
  /** Only when asked for: how much longer the store keeps the entry (ms), read with it; null: unknown. */
  ttlMs?: number | null;
  /**
   * Only on a miss, when asked for (`leaseMs`): the fill lease, taken with the lookup (see `lease`).
   * Absent: not taken (ask `lease`).
   */
  lease?: 'acquired' | 'held';
};

/** A lookup answered from process memory, synchronously: the entry comes decoded. */
export type LocalLookup = Lookup & { entry: DecodedEntry };

/**
 * Why a write was not stored:
 *  - stale: one of its tags was invalidated (or the store started over) since its lookup, so the
 *    answer may be older than what it shows;
 *  - fenced: the write found the bucket's evidence lost or its versions full, and started it over;
 *  - unfit: it carries a tag the store cannot keep (and so could never invalidate it by);
 *  - unvouched: its lookup was answered from process memory, which cannot vouch for a write.
 */
export type StoreRefusal = 'stale' | 'fenced' | 'unfit' | 'unvouched';

/** `failed`: the store could not be asked (it is down, or timed out): nothing is known. */
export type StoreOutcome = 'stored' | StoreRefusal | 'failed';

export interface ResponseStore {
  /** Bytes, not text: the HTTP fast path writes the body without decoding it. */
  /**
   * `forLayer`: also hand out what an in-process layer needs to keep a hit (`tags`, `ttlMs`).
   * `leaseMs`: on a miss, also claim the fill lease for that long (as `lease` does), in the same
   * round trip where the store can; a lookup that will execute its miss asks for it.
   */
  lookup(key: string, forLayer?: boolean, leaseMs?: number): Promise<Lookup>;
  /**
   * The same lookup when process memory alone can answer it (a fresh entry of an in-process
   * layer), without a promise: the lean hit's fastest path. Undefined: ask `lookup`.
   */
  peek?(key: string): LocalLookup | undefined;
  store(key: string, value: string, tags: readonly string[], ttlMs: number, generation: string): Promise<StoreOutcome>;
  /** Serves no entry carrying any of the tags any more; resolves once that is true for every server. */
  invalidate(tags: readonly string[]): Promise<void>;
  /**
   * Claims the right to fill `key` for `ms` across every server sharing the store: 'acquired', or
   * 'held' by another server (wait briefly for its entry, or execute without writing). A lease is a
   * server's, not a request's: another request of the same server finds it 'acquired' (its
   * in-process coalescing decides which request fills). Stores that serve one process only answer
   * 'acquired' (in-process coalescing covers them).
   */
  lease(key: string, ms: number): Promise<'acquired' | 'held'>;
  /**
   * Gives up this server's fill lease on `key` (a lease another server holds stays): the filler ends
   * without a write (its answer was not cacheable), so other servers need not wait for one.
   */
  release(key: string): Promise<void>;
  /** Serves nothing it holds now any more (admin purge); its memory may go then or later. */
  clear(): Promise<void>;
  /** Live entries and the bytes they take, where the store can tell without a scan. */
  stats(): Promise<{ entries: number | null; bytes: number | null }>;
}

/** Entry lifetimes are capped at a day. */
export const MAX_ENTRY_TTL_MS = 24 * 3600 * 1000;
/**
 * A query that took longer than this from lookup to write may not write back. So an invalidation
 * only has to be remembered this long (twice, for clock skew between servers) to refuse every
 * write it could have made stale.
 */
export const MAX_EXECUTION_MS = 30_000;
export const INVALIDATION_MEMORY_MS = 2 * MAX_EXECUTION_MS;
