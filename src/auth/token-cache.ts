/**
 * Token → user id, in process, for the response cache's HTTP fast path only (private hits without a
 * database round trip). Bounded, and short-lived; anything it cannot vouch for goes the normal way,
 * which always asks the database. What bounds how long it may vouch for a token that stopped being
 * valid:
 *
 * - expiry: an entry never outlives the token's remaining lifetime (as the database reported it at
 *   the lookup, counted from when the lookup began), nor `ttlMs` (10 s);
 * - logout on this server: `revoke` evicts at once, after the token was deleted, and leaves a
 *   tombstone, so a lookup that read the token before the delete cannot put it back afterwards;
 * - logout on another server: `revoke` there publishes the token's hash (through Redis, wired in
 *   src/caches.ts) and every instance's subscriber calls `forget` here: reached within the pub/sub
 *   delivery time. While the subscription is down (`subscribed(false)`), this cache is emptied and
 *   keeps entries for `degradedTtlMs` (1 s) only; a loss nobody noticed is bounded by `ttlMs`.
 */
import { LRUCache } from 'lru-cache';

export type TokenCacheOptions = {
  /** Longest an entry lives. Default 10,000 ms. */
  ttlMs?: number;
  /** Entries at most. Default 10,000. */
  max?: number;
  /** Longest an entry lives while revocations from other instances may not arrive. Default 1,000 ms. */
  degradedTtlMs?: number;
  /** How long a revoked token's tombstone is kept; older lookups are not remembered at all. Default 60,000 ms. */
  tombstoneMs?: number;
  /** Starts degraded (an instance with Redis, before its subscription is up). Default false. */
  degraded?: boolean;
};

export class TokenCache {
  readonly ttlMs: number;
  readonly degradedTtlMs: number;
  private readonly tombstoneMs: number;
  private readonly users: LRUCache<string, number>;
  private readonly revoked: LRUCache<string, true>;
  private degraded: boolean;
  /** Tells the other instances (set by src/caches.ts when they exist, i.e. with Redis). */
  private broadcast: ((tokenHash: string) => Promise<void>) | undefined;

  constructor(options: TokenCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 10_000;
    this.degradedTtlMs = Math.min(options.degradedTtlMs ?? 1_000, this.ttlMs);
    this.tombstoneMs = options.tombstoneMs ?? 60_000;
    this.degraded = options.degraded ?? false;
    const max = options.max ?? 10_000;
    this.users = new LRUCache({ max, ttl: this.ttlMs });
    this.revoked = new LRUCache({ max, ttl: this.tombstoneMs });
  }

  /** A clock for `remember`'s `lookedUpAt` (monotonic, in ms): read it before the database lookup. */
  now(): number {
    return performance.now();
  }

  /**
   * Remembers a token the database just vouched for: `lookedUpAt` is `now()` taken before the lookup,
   * `remainingMs` the token's remaining lifetime the lookup reported. Refused (false) when the token
   * was revoked here since, or when the lookup is too old for a tombstone to prove it was not.
   */
  remember(tokenHash: string, userId: number, lookedUpAt: number, remainingMs: number): boolean {
    const now = this.now();
    if (this.revoked.has(tokenHash) || now - lookedUpAt >= this.tombstoneMs) return false;
    const ttl = Math.min(this.degraded ? this.degradedTtlMs : this.ttlMs, lookedUpAt + remainingMs - now);
    if (ttl < 1) return false;
    this.users.set(tokenHash, userId, { ttl: Math.floor(ttl) });
    return true;
  }

  userOf(tokenHash: string): number | undefined {
    return this.users.get(tokenHash);
  }

  /** Evicts a revoked token on this instance (also what a message from another instance does). */
  forget(tokenHash: string): void {
    this.revoked.set(tokenHash, true);
    this.users.delete(tokenHash);
  }

  /** After the token is deleted: evicts it here at once, then tells the other instances (awaited, never throws). */
  async revoke(tokenHash: string): Promise<void> {
    this.forget(tokenHash);
    await this.broadcast?.(tokenHash);
  }

  /** How `revoke` reaches the other instances. */
  broadcastWith(send: (tokenHash: string) => Promise<void>): void {
    this.broadcast = send;
  }

  /**
   * Whether revocations from other instances arrive. Either way the cache is emptied: going down,
   * what it holds may be revoked unheard; coming back, what it took meanwhile may have been.
   */
  subscribed(up: boolean): void {
    this.degraded = !up;
    this.users.clear();
  }

  get isDegraded(): boolean {
    return this.degraded;
  }
}
