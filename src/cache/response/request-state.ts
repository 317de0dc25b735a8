/**
 * What the response cache knows about one request, from the scope decision to the HTTP headers.
 * Each cache instance keeps its own, keyed by the request's GraphQL context (and by its Request for
 * the response hook), so two apps in one process never see each other's requests.
 */
import type { Flight } from './coalescing.js';
import type { EntryMeta } from './entry.js';
import type { Scope } from './policy.js';

export type CacheOutcome = 'hit' | 'miss' | 'none';

export type RequestState = {
  outcome: CacheOutcome;
  scope: Scope;
  /** The key's session: null for PUBLIC operations, the caller's id for PRIVATE ones. */
  session: string | null;
  /** List and by-id tags added by the tagged fields this request resolved. */
  tags: Set<string>;
  /** The write guard handed out with the lookup (null until looked up). */
  generation: string | null;
  lookedUpAt: number;
  /** What the served or written entry says of itself (for the HTTP headers). */
  entry: EntryMeta | null;
  /**
   * Set when this request leads a coalesced miss; `leased` once it holds the fill lease (its write
   * releases it, and so does its end without one).
   */
  leading: { key: string; flight: Flight; leased: boolean } | null;
  /** Another server holds the fill lease: execute, but leave the writing to it. */
  noWrite: boolean;
  /** This request's write, while it is on its way. */
  write: Promise<unknown> | null;
};

export const newRequestState = (scope: Scope, session: string | null): RequestState => ({
  outcome: 'none',
  scope,
  session,
  tags: new Set(),
  generation: null,
  lookedUpAt: 0,
  entry: null,
  leading: null,
  noWrite: false,
  write: null,
});

/** One instance's request states: by GraphQL context while executing, by Request for the response. */
export class RequestStates {
  private readonly byContext = new WeakMap<object, RequestState>();
  private readonly byRequest = new WeakMap<Request, RequestState>();

  start(context: object, state: RequestState): void {
    this.byContext.set(context, state);
  }
  of(context: unknown): RequestState | undefined {
    return typeof context === 'object' && context !== null ? this.byContext.get(context) : undefined;
  }
  bindRequest(request: Request, state: RequestState): void {
    this.byRequest.set(request, state);
  }
  ofRequest(request: Request): RequestState | undefined {
    return this.byRequest.get(request);
  }
}
