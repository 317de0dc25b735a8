/**
 * The response cache: `@envelop/response-cache` does the envelop plumbing (lookup before execute,
 * entity collection with `__typename`/`id` added to every selection, TTL from `@cacheControl`),
 * and this module supplies what it lacks:
 *  - scope per document (memoised): PUBLIC operations share one entry whoever asks; PRIVATE ones are
 *    keyed by the signed-in user, resolved before the lookup;
 *  - list tags: the fields named in `fieldTags` tag the entry from their parent and arguments (so a
 *    created kit can drop exactly the lists it may join);
 *  - a store adapter per request that carries the write guard from lookup to write, stores the
 *    body exactly as it will be sent (with its ETag), and coalesces identical concurrent misses;
 *  - HTTP caching headers (ETag, Cache-Control, Age, Vary) on every answer it was asked about;
 *  - counters, and `extensions.responseCache { hit, didCache, ttl, scope }` in debug mode.
 * Mutations are not cached and do not invalidate from their results: the services invalidate
 * explicitly, from their own tag table (the domain's is src/invalidation/table.ts), before they answer.
 */
import { getDocumentString } from '@envelop/core';
import { useResponseCache, type Cache, type CacheEntityRecord } from '@envelop/response-cache';
import { defaultFieldResolver, isObjectType, print, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { CacheCounters } from '../counters.js';
import { cacheHeaders, decodeEntry, encodeEntry, etagOf, freshness, type EntryMeta } from './entry.js';
import { responseCacheKey } from './key.js';
import { createPolicyAnalyzer, type Scope } from './policy.js';
import { MAX_ENTRY_TTL_MS, MAX_EXECUTION_MS, type Lookup, type ResponseStore } from './store.js';

/** Tags a field adds to the entry of any operation that resolves it, from its parent and arguments. */
export type FieldTagTable = Record<string, (parent: Record<string, unknown>, args: Record<string, unknown>) => readonly string[]>;

/** Documents the fast path may answer for: raw query text → scope, learnt from executed queries. */
export interface DocumentIndex {
  remember(query: string, scope: Scope): void;
}

export type ResponseCacheOptions<Ctx extends object> = {
  store: ResponseStore;
  counters: CacheCounters;
  fieldTags: FieldTagTable;
  /** The session of a PRIVATE operation: a stable id of the signed-in user, or of "anonymous". */
  session(context: Ctx): Promise<string>;
  /** TTL for an operation that touched no `@cacheControl(maxAge)` (e.g. introspection). */
  defaultTtlMs?: number;
  /** How long past its max-age an entry may be served while it is refreshed (0: never). */
  graceMs?: number;
  /** Adds `extensions.responseCache` to every result. */
  debug?: boolean;
  /** Multiplies every TTL (tests shrink them to milliseconds instead of sleeping for minutes). */
  ttlScale?: number;
  /** Told about every cacheable query document, so an HTTP fast path can recognise it. */
  documentIndex?: DocumentIndex;
};

type RequestState = {
  outcome: 'hit' | 'miss' | 'none';
  scope: Scope;
  session: string | null;
  tags: Set<string>;
  generation: string | null;
  lookedUpAt: number;
  /** What the served or written entry says of itself (for the HTTP headers). */
  entry: EntryMeta | null;
  /** Set when this request leads a coalesced miss. */
  leading: { key: string; flight: Flight } | null;
  /** Another server holds the fill lease: execute, but leave the writing to it. */
  noWrite: boolean;
  /** This request's write, while it is on its way. */
  write: Promise<unknown> | null;
};

type Flight = { generation: string; body: Promise<string | null>; settle(body: string | null): void };

const WRAPPED = Symbol('kitvault.fieldTags');
/** How long a server may hold the right to fill an entry after a miss (its write releases it). */
const LEASE_MS = 2_000;
/** How long another server waits for that fill before executing itself (without writing). */
const WAIT_FOR_FILL_MS = 250;
const POLL_MS = 25;

/**
 * Per-request state by context object. Module-wide on purpose: a schema may be shared by several
 * apps (and plugin instances) in one process, and its field wrappers are installed only once.
 */
const states = new WeakMap<object, RequestState>();
/**
 * What the HTTP front door passes in yoga's server context (merged into the GraphQL context, so a
 * client cannot forge it): the lookup the fast path already made (a miss then costs one round
 * trip), or the mark of a refresh, which must not be answered from the stale entry it replaces.
 */
export type FrontDoorContext = { kitvaultLookup?: { key: string; lookup: Lookup }; kitvaultRefresh?: boolean };

/** What the response cache did for a request: 'none' when it was not consulted (mutations, errors before it). */
export function responseCacheOutcome(context: object): 'hit' | 'miss' | 'none' {
  return states.get(context)?.outcome ?? 'none';
}

/** Wraps the tagged fields' resolvers once per schema; the wrapper finds its request by context. */
function installFieldTags(schema: GraphQLSchema, table: FieldTagTable) {
  for (const [coordinate, tagsOf] of Object.entries(table)) {
    const [typeName, fieldName] = coordinate.split('.') as [string, string];
    const type = schema.getType(typeName);
    const field = type && isObjectType(type) ? type.getFields()[fieldName] : undefined;
    if (!field) throw new Error(`fieldTags names ${coordinate}, which the schema does not have`);
    const marked = field as typeof field & { [WRAPPED]?: true };
    if (marked[WRAPPED]) continue;
    const resolve = field.resolve ?? defaultFieldResolver;
    field.resolve = (parent, args, context, info) => {
      const state = states.get(context as object);
      if (state) for (const tag of tagsOf(parent ?? {}, args)) state.tags.add(tag);
      return resolve(parent, args, context, info);
    };
    marked[WRAPPED] = true;
  }
}

type YogaContext = FrontDoorContext & { request: Request; params?: { query?: string } };

export function createResponseCachePlugins<Ctx extends object>(options: ResponseCacheOptions<Ctx>) {
  const { store, counters } = options;
  const graceMs = options.graceMs ?? 0;
  const pending = new Set<Promise<unknown>>();
  /** Identical misses in flight in this process: the first executes, the others wait for its body. */
  const flights = new Map<string, Flight>();
  let analyse: ReturnType<typeof createPolicyAnalyzer> | undefined;

  /** Polls for the entry another server is filling, for at most WAIT_FOR_FILL_MS. */
  async function waitForFill(key: string): Promise<{ meta: EntryMeta; body: string } | null> {
    for (let waited = 0; waited < WAIT_FOR_FILL_MS; waited += POLL_MS) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const found = await store.lookup(key);
      const entry = found.value && decodeEntry(found.value);
      if (entry && freshness(entry.meta).state === 'fresh') return { meta: entry.meta, body: entry.body.toString() };
    }
    return null;
  }

  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  async function lookup(context: object, key: string): Promise<Lookup> {
    const given = (context as YogaContext).kitvaultLookup;
    if (given && given.key === key) return given.lookup;
    return store.lookup(key);
  }

  const adapterFor = (context: object): Cache => ({
    async get(key) {
      const state = states.get(context);
      const found = await lookup(context, key);
      const refresh = (context as YogaContext).kitvaultRefresh === true;
      if (state) {
        state.generation = found.generation;
        state.lookedUpAt = Date.now();
      }
      const entry = found.value === null || refresh ? null : decodeEntry(found.value);
      // A stale entry is served by the HTTP fast path while it refreshes; here it is a miss.
      if (entry && freshness(entry.meta).state === 'fresh') {
        if (state) {
          state.outcome = 'hit';
          state.entry = entry.meta;
        }
        counters.inc('response_hit', state?.scope);
        return JSON.parse(entry.body.toString()) as ExecutionResult;
      }
      if (state) state.outcome = 'miss';
      counters.inc('response_miss', state?.scope);
      if (!state || refresh) return null;

      // Join an identical miss already executing, if it looked up at the same invalidation
      // sequence: then nothing was invalidated in between, and its answer is as fresh as ours.
      const flight = flights.get(key);
      if (flight && flight.generation === found.generation) {
        const body = await flight.body;
        if (body !== null) {
          counters.inc('response_coalesced', state.scope);
          return JSON.parse(body) as ExecutionResult;
        }
        return null;
      }
      if (!flight) {
        let settle!: (body: string | null) => void;
        const body = new Promise<string | null>((resolve) => (settle = resolve));
        const mine: Flight = { generation: found.generation, body, settle };
        flights.set(key, mine);
        state.leading = { key, flight: mine };
        // Across servers: one fills; the others wait briefly for its entry.
        if ((await store.lease(key, LEASE_MS)) === 'held') {
          const filled = await waitForFill(key);
          if (filled) {
            counters.inc('response_coalesced', state.scope);
            state.entry = filled.meta;
            state.outcome = 'hit';
            mine.settle(filled.body);
            return JSON.parse(filled.body) as ExecutionResult;
          }
          counters.inc('response_lease_busy', state.scope);
          state.noWrite = true;
        }
      }
      return null;
    },
    set(key, result, entities, ttl) {
      const state = states.get(context);
      if (!state || state.generation === null) return;
      const body = JSON.stringify(result);
      const maxAgeMs = Math.min(ttl, MAX_ENTRY_TTL_MS);
      const entry: EntryMeta = { etag: etagOf(body), storedAt: Date.now(), maxAgeMs, graceMs, scope: state.scope };
      state.entry = entry;
      if (state.leading?.key === key) state.leading.flight.settle(body);
      if (state.noWrite) return;
      if (Date.now() - state.lookedUpAt > MAX_EXECUTION_MS) {
        counters.inc('response_write_refused', 'slow');
        return;
      }
      const tags = new Set(state.tags);
      for (const e of entities as Iterable<CacheEntityRecord>) {
        // Type-only records (empty lists, nulls) are covered by the list and by-id tags instead.
        if (e.id !== undefined && e.id !== null) tags.add(`${e.typename}:${e.id}`);
      }
      const write = store
        .store(key, encodeEntry(entry, body), [...tags], maxAgeMs + graceMs, state.generation)
        .then((outcome) => {
          if (outcome === 'stored') counters.inc('response_write', state.scope);
          else if (outcome === 'refused') counters.inc('response_write_refused', 'stale');
        });
      state.write = write;
      track(write);
    },
    // Unused: invalidation is explicit (invalidateViaMutation is off).
    invalidate: () => undefined,
  });

  const scopePlugin: Plugin<Ctx> = {
    onSchemaChange({ schema }) {
      analyse = createPolicyAnalyzer(schema);
      installFieldTags(schema, options.fieldTags);
    },
    async onExecute({ args }) {
      const policy = analyse!(args.document, args.operationName);
      if (policy.kind !== 'query') return;
      const query = (args.contextValue as YogaContext).params?.query;
      if (query) options.documentIndex?.remember(query, policy.scope);
      let session: string | null = null;
      if (policy.scope === 'PRIVATE') {
        try {
          session = await options.session(args.contextValue as Ctx);
        } catch {
          return; // e.g. a revoked token: not cached; the resolvers will say why.
        }
      }
      states.set(args.contextValue as object, {
        outcome: 'none',
        scope: policy.scope,
        session,
        tags: new Set(),
        generation: null,
        lookedUpAt: 0,
        entry: null,
        leading: null,
        noWrite: false,
        write: null,
      });
    },
  };

  const cachePlugin = useResponseCache<Ctx>({
    cache: (context) => adapterFor(context),
    enabled: (context) => states.has(context),
    session: (context) => states.get(context)?.session ?? null,
    // The document exactly as the client sent it, so the HTTP fast path computes the same key.
    getDocumentString: (args) => (args.contextValue as YogaContext).params?.query ?? getDocumentString(args.document, print),
    buildResponseCacheKey: ({ documentString, operationName, variableValues, sessionId }) =>
      responseCacheKey({ documentString, operationName, variableValues, sessionId }),
    ttl: options.defaultTtlMs ?? 60_000,
    // Introspection is cached like any public query (the schema only changes with a deploy).
    ttlPerSchemaCoordinate: { 'Query.__schema': undefined },
    invalidateViaMutation: false,
    includeExtensionMetadata: options.debug ?? false,
    shouldCacheResult: ({ result }) => !result.errors?.length,
    ...(options.ttlScale !== undefined ? { onTtl: ({ ttl }: { ttl: number }) => Math.max(1, Math.round(ttl * options.ttlScale!)) } : {}),
  });

  /** After the cache plugin: ends the coalesced flight, adds debug metadata, sets HTTP headers. */
  const requests = new WeakMap<Request, RequestState>();
  const afterPlugin: Plugin<Ctx> = {
    onExecute({ args }) {
      const context = args.contextValue as object;
      const state = states.get(context);
      if (!state) return;
      requests.set((context as YogaContext).request, state);
      return {
        onExecuteDone({ result, setResult }) {
          const leading = state.leading;
          if (leading) {
            leading.flight.settle(null); // no-op when set() already gave it the body
            // Keep answering identical misses from this flight until its entry is in the store.
            const end = () => {
              if (flights.get(leading.key) === leading.flight) flights.delete(leading.key);
            };
            if (state.write) void state.write.finally(end);
            else end();
          }
          if (!options.debug || Symbol.asyncIterator in (result as object)) return;
          const r = result as ExecutionResult;
          const meta = (r.extensions?.responseCache ?? {}) as Record<string, unknown>;
          setResult({ ...r, extensions: { ...r.extensions, responseCache: { ...meta, scope: state.scope } } });
        },
      };
    },
    onResponse({ request, response }) {
      if (request.method !== 'GET' && request.method !== 'POST') return;
      const state = requests.get(request);
      if (!state?.entry || response.status !== 200) {
        // Mutations, errors, uncacheable answers: nobody may keep them.
        if (!response.headers.has('cache-control')) response.headers.set('cache-control', 'no-store');
        return;
      }
      for (const [name, value] of Object.entries(cacheHeaders(state.entry, freshness(state.entry)))) response.headers.set(name, value);
      response.headers.set('x-cache', state.outcome === 'hit' ? 'HIT' : 'MISS');
    },
  };

  return {
    plugins: [scopePlugin, cachePlugin as Plugin<Ctx>, afterPlugin],
    /** Resolves once every write started so far has landed or been refused (tests, shutdown). */
    settled: async () => {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}
