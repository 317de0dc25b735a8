/**
 * The envelop plugins of one response-cache instance, in the order they run:
 *  1. scope: tags fields in this instance's copy of the schema; per query, decides the scope
 *     (memoised per document), resolves a PRIVATE operation's session, remembers the document for
 *     the lean hit, and starts the request's state;
 *  2. `@envelop/response-cache`: lookup before execute, entity collection (it adds `__typename`
 *     and `id` to every selection), TTL from `@cacheControl`, with our store adapter as its cache;
 *  3. after: ends a coalesced flight, adds debug metadata, sets the HTTP cache headers, and answers
 *     304 to a GET whose If-None-Match names the answer's entry.
 */
import { getDocumentString } from '@envelop/core';
import { useResponseCache } from '@envelop/response-cache';
import { print, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { CacheCounters } from '../counters.js';
import type { Flights } from './coalescing.js';
import { soleOperationName, type DocumentIndex } from './documents.js';
import { freshness } from './entry.js';
import { tagFields, type FieldTagTable } from './field-tags.js';
import { handoffOf } from './handoff.js';
import { answersNotModified, entryHeaders, matchesIfNoneMatch, NOT_CACHEABLE } from './headers.js';
import { responseCacheKey } from './key.js';
import { createPolicyAnalyzer } from './policy.js';
import { newRequestState, type RequestStates } from './request-state.js';
import { storeAdapter } from './store-adapter.js';
import type { ResponseStore } from './store.js';

export type PluginDeps<Ctx> = {
  store: ResponseStore;
  counters: CacheCounters;
  fieldTags: FieldTagTable;
  session(context: Ctx): Promise<string>;
  documents: DocumentIndex;
  states: RequestStates;
  flights: Flights;
  graceMs: number;
  joinWaitMs: number;
  /** The longest the edge may keep an answer; 0: there is no edge we purge (answers say no-store to it). */
  edgeMaxAgeMs: number;
  defaultTtlMs: number;
  debug: boolean;
  ttlScale: number | undefined;
  track(write: Promise<unknown>): void;
};

/** The query text exactly as the client sent it (yoga's params), so serve computes the same key. */
const sentQuery = (context: unknown): string | undefined => {
  if (typeof context !== 'object' || context === null || !('params' in context)) return undefined;
  const { params } = context as { params?: { query?: unknown } };
  return typeof params?.query === 'string' ? params.query : undefined;
};

export function responseCachePlugins<Ctx extends object>(deps: PluginDeps<Ctx>): Plugin<Ctx>[] {
  const { states } = deps;
  let analyse: ReturnType<typeof createPolicyAnalyzer> | undefined;
  /** The schemas this instance tagged, so it does not tag its own copy again. */
  const tagged = new WeakSet<GraphQLSchema>();

  const scopePlugin: Plugin<Ctx> = {
    onSchemaChange({ schema, replaceSchema }) {
      if (tagged.has(schema)) return;
      const copy = tagFields(schema, deps.fieldTags, (context, tags) => {
        const state = states.of(context);
        if (state) for (const tag of tags) state.tags.add(tag);
      });
      tagged.add(copy);
      analyse = createPolicyAnalyzer(copy);
      replaceSchema(copy);
    },
    async onExecute({ args }) {
      const policy = analyse!(args.document, args.operationName);
      if (policy.kind !== 'query') return;
      const query = sentQuery(args.contextValue);
      if (query) deps.documents.remember(query, policy.scope, soleOperationName(args.document));
      let session: string | null = null;
      if (policy.scope === 'PRIVATE') {
        try {
          session = await deps.session(args.contextValue);
        } catch {
          return; // e.g. a revoked token: not cached; the resolvers will say why.
        }
      }
      states.start(args.contextValue, newRequestState(policy.scope, session));
    },
  };

  const cachePlugin = useResponseCache<Ctx>({
    cache: (context) => storeAdapter(deps, states.of(context), handoffOf(context)),
    enabled: (context) => states.of(context) !== undefined,
    session: (context) => states.of(context)?.session ?? null,
    getDocumentString: (args) => sentQuery(args.contextValue) ?? getDocumentString(args.document, print),
    buildResponseCacheKey: ({ documentString, operationName, variableValues, sessionId }) =>
      responseCacheKey({ documentString, operationName, variableValues, sessionId }),
    ttl: deps.defaultTtlMs,
    // Introspection is cached like any public query (the schema only changes with a deploy).
    ttlPerSchemaCoordinate: { 'Query.__schema': undefined },
    invalidateViaMutation: false,
    includeExtensionMetadata: deps.debug,
    shouldCacheResult: ({ result }) => !result.errors?.length,
    ...(deps.ttlScale !== undefined
      ? { onTtl: ({ ttl }: { ttl: number }) => Math.max(1, Math.round(ttl * deps.ttlScale!)) }
      : {}),
  });

  const afterPlugin: Plugin<Ctx> = {
    onExecute({ args }) {
      const state = states.of(args.contextValue);
      if (!state) return;
      const request = (args.contextValue as { request?: Request }).request;
      if (request) states.bindRequest(request, state);
      return {
        onExecuteDone({ result, setResult }) {
          const leading = state.leading;
          if (leading) {
            leading.flight.settle(null); // a no-op when the write already gave it the body
            // Nothing to write (not cacheable, or too slow): other servers need not wait for a fill.
            if (leading.leased && !state.write) deps.track(deps.store.release(leading.key));
            // Keep answering identical misses from this flight until its entry is in the store.
            const end = () => deps.flights.end(leading.key, leading.flight);
            if (state.write) void state.write.finally(end);
            else end();
          }
          if (!deps.debug || Symbol.asyncIterator in (result as object)) return;
          const r = result as ExecutionResult;
          const meta = (r.extensions?.responseCache ?? {}) as Record<string, unknown>;
          setResult({ ...r, extensions: { ...r.extensions, responseCache: { ...meta, scope: state.scope } } });
        },
      };
    },
    async onResponse({ request, response, setResponse }) {
      if (request.method !== 'GET' && request.method !== 'POST') return;
      const state = states.ofRequest(request);
      if (!state?.entry || response.status !== 200) {
        if (!response.headers.has('cache-control'))
          response.headers.set('cache-control', NOT_CACHEABLE['cache-control']);
        return;
      }
      // The edge may keep only what the shared store holds: a hit, or a miss whose write landed
      // (a refused write computed an answer an invalidation may already have passed).
      // (Only worth waiting for when there is an edge and it could keep the answer at all.)
      const edgeable = deps.edgeMaxAgeMs > 0 && state.entry.scope === 'PUBLIC' && state.entry.edgeKeys !== null;
      const edge = edgeable && (state.outcome === 'hit' || (state.write !== null && (await state.write) === 'stored'));
      const headers = entryHeaders(
        state.entry,
        freshness(state.entry),
        state.outcome === 'hit' ? 'HIT' : 'MISS',
        edge ? deps.edgeMaxAgeMs : 0,
      );
      for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
      if (
        answersNotModified(request.method) &&
        matchesIfNoneMatch(request.headers.get('if-none-match'), state.entry.etag)
      ) {
        const notModified = new Headers(response.headers);
        notModified.delete('content-type');
        notModified.delete('content-length');
        setResponse(new Response(null, { status: 304, headers: notModified }));
      }
    },
  };

  return [scopePlugin, cachePlugin as Plugin<Ctx>, afterPlugin];
}
