/**
 * What the entity cache needs from a backend, in the manner of memcache leases (Nishtala et al.,
 * NSDI 2013): a read that misses may take a lease on the key; an invalidation deletes the value and
 * voids the lease; a fill is only accepted from the holder of a live lease. So a reader that
 * fetched a row before a concurrent write can never put the old row back after the write's
 * invalidation, and only one reader at a time (across all servers) fills a given key.
 */
export type ReadOutcome =
  /** The stored bytes. */
  | { kind: 'hit'; value: Buffer }
  /** Absent; this reader holds the lease and may fill. */
  | { kind: 'leased' }
  /** Absent; another reader holds the lease: read the database, do not fill. */
  | { kind: 'busy' };

export type Fill = { key: string; value: Buffer; ttlMs: number };

/** What a read of a group answers: the version its values are read under, and each key's outcome. */
export type GroupRead = { version: string; outcomes: ReadOutcome[] };

export interface EntityStorage {
  /** One round trip: reads every key and takes a lease (`token`, `leaseMs`) on each absent one. */
  readOrLease(keys: readonly string[], token: string, leaseMs: number): Promise<ReadOutcome[]>;
  /** One round trip: stores each value whose lease `token` still holds; answers which were stored. */
  fill(fills: readonly Fill[], token: string): Promise<boolean[]>;
  /** Deletes values and voids their leases. */
  invalidate(keys: readonly string[]): Promise<void>;
  /**
   * Groups: values that are voided together, in one step whatever their number (the pages of one
   * list). A group has a version; a value is served only when stored under the current one, and
   * dropping the group deletes the version. So invalidating a group is O(1), and a lost version key
   * costs misses, never an old value: a new version is a fresh random token, never a reused one.
   *
   * One round trip: the group's version (`token` becomes it when there is none, kept `versionTtlMs`),
   * then each key read under it, or leased as in readOrLease.
   */
  readGroup(
    group: string,
    keys: readonly string[],
    token: string,
    leaseMs: number,
    versionTtlMs: number,
  ): Promise<GroupRead>;
  /**
   * One round trip: stores each value whose lease `token` still holds, if the group's version is still
   * `version` (else none, and the leases go). The version then lives at least as long as the values.
   */
  fillGroup(group: string, version: string, fills: readonly Fill[], token: string): Promise<boolean[]>;
  /** Voids every value of these groups (deletes their versions). */
  invalidateGroups(groups: readonly string[]): Promise<void>;
  /** Drops every value under `prefix` (admin purge); answers how many. */
  clear(prefix: string): Promise<number>;
  /** Entries held, where the backend can count them without scanning (null otherwise). */
  entries(): Promise<number | null>;
}
