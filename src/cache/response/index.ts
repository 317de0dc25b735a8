/**
 * The response cache, whole: whole query results stored by a ResponseStore, shared by everybody
 * for PUBLIC operations and per session for PRIVATE ones, tagged by the entities they show and the
 * lists they read, served before yoga on a hit. It knows no domain: the caller supplies the field
 * tag table, how to name a request's session, and the store.
 *
 *   const cache = createResponseCache({ store, counters, fieldTags, session, sessionOf });
 *   createYoga({ plugins: [...cache.plugins] });          // lookup, coalescing, write guard, headers
 *   const answer = await cache.serve(request, rerun);      // the lean hit, in front of yoga
 *   if (!isServed(answer)) yoga.fetch(request, answer.context);
 *
 * Everything per request is kept per instance: two caches (two apps) in one process share nothing.
 */
import type { Plugin } from 'graphql-yoga';
import type { CacheCounters } from '../counters.js';
import { Flights, JOIN_WAIT_MS } from './coalescing.js';
import { DocumentIndex } from './documents.js';
import type { FieldTagTable } from './field-tags.js';
import { responseCachePlugins } from './plugins.js';
import { RequestStates, type CacheOutcome } from './request-state.js';
import {
  createServe,
  type Declined,
  type PersistedDocumentOf,
  type Rerun,
  type ServedAnswer,
  type ServeRequest,
} from './serve.js';
import type { ResponseStore } from './store.js';

export type ResponseCacheOptions<Ctx extends object> = {
  /** Where entries live (Redis or memory); wrap it in `failOpen` so its errors never fail a request. */
  store: ResponseStore;
  counters: CacheCounters;
  /** Fields whose tags (lists, by-id lookups) an entry carries, from their parent and arguments. */
  fieldTags: FieldTagTable;
  /** The session of a PRIVATE operation, from the GraphQL context: a stable id of the user, or of "anonymous". */
  session(context: Ctx): Promise<string>;
  /**
   * The same session from the Authorization header alone, for the lean hit; undefined when it
   * cannot vouch for the caller without the database (the request then goes to yoga).
   */
  sessionOf(authorization: string | undefined): string | undefined;
  /** TTL for an operation that touched no `@cacheControl(maxAge)` (e.g. introspection). Default 60 s. */
  defaultTtlMs?: number;
  /** How long past its max-age an entry may be served while it is refreshed. Default 0 (never). */
  graceMs?: number;
  /** Adds `extensions.responseCache` to every result. Default false. */
  debug?: boolean;
  /** Multiplies every TTL (tests shrink them to milliseconds instead of sleeping for minutes). Default 1. */
  ttlScale?: number;
  /**
   * How long a request waits for an identical miss it joined before executing by itself (the
   * leader settles its flight whatever happens; this bounds the wait even if it did not). Default 5,000 ms.
   */
  joinWaitMs?: number;
  /**
   * The longest an edge in front (Varnish, a CDN) may keep a public answer, through
   * `Surrogate-Control`; it also bounds what a lost purge can cost. 0: no edge is purged, so answers
   * tell surrogates `no-store`. Default 0.
   */
  edgeMaxAgeMs?: number;
  /** The path serve answers on. Default `/graphql`. */
  graphqlPath?: string;
  /** Larger POST bodies go to yoga (it has the full rules for them). Default 64 KiB. */
  maxServeBodyBytes?: number;
  /**
   * The document of a persisted query's hash, from memory, for the lean hit (the hash → document
   * pair must be verified: the lean hit trusts it). Default: none (such requests go to yoga).
   */
  persistedDocument?: PersistedDocumentOf;
};

export type ResponseCache<Ctx extends object> = {
  /** For yoga, after the built-in plugins (limits) and before the request log. */
  plugins: Plugin<Ctx>[];
  /**
   * The lean hit: answers a cached query, or declines with the server context to hand to yoga.
   * Without a promise when process memory answers; a promise when the store is asked.
   */
  serve(request: ServeRequest, rerun: Rerun): ServedAnswer | Declined | Promise<ServedAnswer | Declined>;
  /** What the cache did for a request, by its GraphQL context: 'none' when it was not consulted. */
  outcomeOf(context: object): CacheOutcome;
  /** Resolves once every write started so far has landed or been refused (tests, shutdown). */
  settled(): Promise<void>;
};

export function createResponseCache<Ctx extends object>(options: ResponseCacheOptions<Ctx>): ResponseCache<Ctx> {
  const states = new RequestStates();
  const documents = new DocumentIndex();
  const pending = new Set<Promise<unknown>>();
  const track = (write: Promise<unknown>) => {
    pending.add(write);
    void write.finally(() => pending.delete(write));
  };
  const debug = options.debug ?? false;
  const plugins = responseCachePlugins<Ctx>({
    store: options.store,
    counters: options.counters,
    fieldTags: options.fieldTags,
    session: options.session,
    documents,
    states,
    flights: new Flights(),
    graceMs: options.graceMs ?? 0,
    joinWaitMs: options.joinWaitMs ?? JOIN_WAIT_MS,
    defaultTtlMs: options.defaultTtlMs ?? 60_000,
    edgeMaxAgeMs: options.edgeMaxAgeMs ?? 0,
    debug,
    ttlScale: options.ttlScale,
    track,
  });
  const serve = createServe({
    store: options.store,
    documents,
    counters: options.counters,
    debug,
    graphqlPath: options.graphqlPath ?? '/graphql',
    maxBodyBytes: options.maxServeBodyBytes ?? 64 * 1024,
    sessionOf: options.sessionOf,
    edgeMaxAgeMs: options.edgeMaxAgeMs ?? 0,
    ...(options.persistedDocument ? { persistedDocument: options.persistedDocument } : {}),
  });
  return {
    plugins,
    serve,
    outcomeOf: (context) => states.of(context)?.outcome ?? 'none',
    async settled() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}

export { failOpen, type FailOpenStore } from './fail-open.js';
export { createMemoryResponseStore } from './memory-store.js';
export { RESPONSE_LAYER_NAME, withLocalLayer, type LocalEntry } from './local-store.js';
export { createRedisResponseStore, MAX_VERSIONS } from './redis-store.js';
export { jsonDepthExceeds } from './json-depth.js';
export { IGNORED_EXTENSIONS, isServed, MAX_VARIABLES_DEPTH, pathOf } from './serve.js';
export type { CacheOutcome } from './request-state.js';
export type { FieldTagTable } from './field-tags.js';
export type { Handoff } from './handoff.js';
export type { ResponseCacheServerContext } from './handoff.js';
export type { Declined, PersistedDocumentOf, Rerun, ServedAnswer, ServeRequest } from './serve.js';
export type { ResponseStore } from './store.js';
