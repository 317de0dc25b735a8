/**
 * The response cache: `@envelop/response-cache` does the envelop plumbing (lookup before execute,
 * entity collection with `__typename`/`id` added to every selection, TTL from `@cacheControl`),
 * and this module supplies what it lacks:
 *  - scope per document (memoised): PUBLIC operations share one entry whoever asks; PRIVATE ones are
 *    keyed by the signed-in user, resolved before the lookup;
 *  - list tags: the fields named in `fieldTags` tag the entry from their parent and arguments (so a
 *    created kit can drop exactly the lists it may join);
 *  - a store adapter per request that carries the write guard from lookup to write;
 *  - counters, and `extensions.responseCache { hit, didCache, ttl, scope }` in debug mode.
 * Mutations are not cached and do not invalidate from their results: the services invalidate
 * explicitly, from src/cache/invalidation.ts, before they answer.
 */
import { useResponseCache, type Cache, type CacheEntityRecord } from '@envelop/response-cache';
import { defaultFieldResolver, isObjectType, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { CacheCounters } from '../counters.js';
import { responseCacheKey } from './key.js';
import { createPolicyAnalyzer, type Scope } from './policy.js';
import { MAX_ENTRY_TTL_MS, MAX_EXECUTION_MS, type ResponseStore } from './store.js';

/** Tags a field adds to the entry of any operation that resolves it, from its parent and arguments. */
export type FieldTagTable = Record<string, (parent: Record<string, unknown>, args: Record<string, unknown>) => readonly string[]>;

export type ResponseCacheOptions<Ctx extends object> = {
  store: ResponseStore;
  counters: CacheCounters;
  fieldTags: FieldTagTable;
  /** The session of a PRIVATE operation: a stable id of the signed-in user, or of "anonymous". */
  session(context: Ctx): Promise<string>;
  /** TTL for an operation that touched no `@cacheControl(maxAge)` (e.g. introspection). */
  defaultTtlMs?: number;
  /** Adds `extensions.responseCache` to every result. */
  debug?: boolean;
  /** Multiplies every TTL (tests shrink them to milliseconds instead of sleeping for minutes). */
  ttlScale?: number;
};

type RequestState = {
  outcome: 'hit' | 'miss' | 'none';
  scope: Scope;
  session: string | null;
  tags: Set<string>;
  generation: string | null;
  lookedUpAt: number;
};

const WRAPPED = Symbol('kitvault.fieldTags');

/**
 * Per-request state by context object. Module-wide on purpose: a schema may be shared by several
 * apps (and plugin instances) in one process, and its field wrappers are installed only once.
 */
const states = new WeakMap<object, RequestState>();

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

export function createResponseCachePlugins<Ctx extends object>(options: ResponseCacheOptions<Ctx>) {
  const { store, counters } = options;
  const pending = new Set<Promise<unknown>>();
  let analyse: ReturnType<typeof createPolicyAnalyzer> | undefined;

  const track = (p: Promise<unknown>) => {
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  const adapterFor = (context: object): Cache => ({
    async get(key) {
      const state = states.get(context);
      const found = await store.lookup(key);
      if (state) {
        state.generation = found.generation;
        state.lookedUpAt = Date.now();
      }
      if (state) state.outcome = found.value === null ? 'miss' : 'hit';
      if (found.value === null) {
        counters.inc('response_miss', state?.scope);
        return null;
      }
      counters.inc('response_hit', state?.scope);
      return JSON.parse(found.value) as ExecutionResult;
    },
    set(key, result, entities, ttl) {
      const state = states.get(context);
      if (!state || state.generation === null) return;
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
        .store(key, JSON.stringify(result), [...tags], Math.min(ttl, MAX_ENTRY_TTL_MS), state.generation)
        .then((outcome) => {
          if (outcome === 'stored') counters.inc('response_write', state.scope);
          else if (outcome === 'refused') counters.inc('response_write_refused', 'stale');
        });
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
      let session: string | null = null;
      if (policy.scope === 'PRIVATE') {
        try {
          session = await options.session(args.contextValue as Ctx);
        } catch {
          return; // e.g. a revoked token: not cached; the resolvers will say why.
        }
      }
      states.set(args.contextValue as object, { outcome: 'none', scope: policy.scope, session, tags: new Set(), generation: null, lookedUpAt: 0 });
    },
  };

  const cachePlugin = useResponseCache<Ctx>({
    cache: (context) => adapterFor(context),
    enabled: (context) => states.has(context),
    session: (context) => states.get(context)?.session ?? null,
    buildResponseCacheKey: ({ documentString, operationName, variableValues, sessionId }) =>
      responseCacheKey({ documentString, operationName, variableValues, sessionId }),
    ttl: options.defaultTtlMs ?? 60_000,
    // Introspection is cached like any public query (the schema only changes with a deploy).
    ttlPerSchemaCoordinate: { 'Query.__schema': undefined },
    invalidateViaMutation: false,
    ...(options.ttlScale !== undefined ? { onTtl: ({ ttl }: { ttl: number }) => Math.max(1, Math.round(ttl * options.ttlScale!)) } : {}),
    includeExtensionMetadata: options.debug ?? false,
    shouldCacheResult: ({ result }) => !result.errors?.length,
  });

  const debugPlugin: Plugin<Ctx> = {
    onExecute({ args }) {
      const state = states.get(args.contextValue as object);
      if (!options.debug || !state) return;
      return {
        onExecuteDone({ result, setResult }) {
          if (Symbol.asyncIterator in (result as object)) return;
          const r = result as ExecutionResult;
          const meta = (r.extensions?.responseCache ?? {}) as Record<string, unknown>;
          setResult({ ...r, extensions: { ...r.extensions, responseCache: { ...meta, scope: state.scope } } });
        },
      };
    },
  };

  return {
    plugins: [scopePlugin, cachePlugin as Plugin<Ctx>, debugPlugin],
    /** Resolves once every write started so far has landed or been refused (tests, shutdown). */
    settled: async () => {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}
