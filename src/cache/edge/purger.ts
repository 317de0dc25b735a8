/**
 * The edge in front of the API (Varnish, a CDN) keeps public answers named by their surrogate keys
 * (keys.ts) and drops them when told. A purger is how it is told: Varnish (varnish-purger.ts), or a
 * hosted CDN's purge API (Fastly's surrogate-key purge, Cloudflare's Cache-Tag purge) by the same
 * contract. It receives response-cache tags and names them with `edgeKey` itself.
 */
export interface EdgePurger {
  /** Drops every answer carrying any of the tags, everywhere this edge keeps it; rejects if it could not. */
  purge(tags: readonly string[]): Promise<void>;
  /** Drops every answer this edge keeps from the API (an administrator's purge of everything). */
  purgeAll(): Promise<void>;
}

/** No edge: nothing to purge. */
export const noEdgePurger: EdgePurger = { purge: async () => {}, purgeAll: async () => {} };
