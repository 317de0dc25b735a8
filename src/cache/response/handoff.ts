/**
 * What the lean hit hands to yoga, through yoga's server context (merged into the GraphQL context
 * on the server side, so no client can forge it). The transport passes it on without reading it.
 */
import type { Lookup } from './store.js';

export type Handoff = {
  /** The lookup serve already made for this key: yoga's miss then costs no second round trip. */
  lookup?: { key: string; lookup: Lookup };
  /** A background refresh of a stale entry: it must execute, not be answered from that entry. */
  refresh?: true;
};

/** The server context the response cache reads; spread what `serve` declines with into it. */
export type ResponseCacheServerContext = { responseCacheHandoff?: Handoff };

export function handoffOf(context: unknown): Handoff | undefined {
  if (typeof context !== 'object' || context === null || !('responseCacheHandoff' in context)) return undefined;
  const { responseCacheHandoff } = context as ResponseCacheServerContext;
  return responseCacheHandoff;
}
