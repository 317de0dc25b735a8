/**
 * Token → user id, in process, for the response cache's HTTP fast path only (private hits without a
 * database round trip). Bounded, and short-lived: a token revoked on another server stops working
 * on the fast path within `ttlMs` (10 s); on this server, logout evicts it at once. Anything the
 * fast path cannot vouch for goes the normal way, which always asks the database.
 */
import { LRUCache } from 'lru-cache';

export class TokenCache {
  private readonly users: LRUCache<string, number>;
  constructor(
    readonly ttlMs = 10_000,
    max = 10_000,
  ) {
    this.users = new LRUCache({ max, ttl: ttlMs });
  }
  remember(tokenHash: string, userId: number): void {
    this.users.set(tokenHash, userId);
  }
  userOf(tokenHash: string): number | undefined {
    return this.users.get(tokenHash);
  }
  forget(tokenHash: string): void {
    this.users.delete(tokenHash);
  }
}
