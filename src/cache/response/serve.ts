/**
 * The lean hit: answers a cached query before yoga is involved at all (no parse, no validation,
 * no execution, no JSON round trip) with one store round trip, writing the stored bytes as they are.
 *
 * It answers only what it can answer exactly as yoga would: GET or POST on the GraphQL path, JSON in
 * and out, a document yoga has already executed here (so parsing, validation and limits passed),
 * and for a PRIVATE document, a caller whose session the `sessionOf` option can vouch for.
 * Everything else, and every miss, is declined with a handoff for yoga's server context (a miss
 * then still costs one lookup). It replicates yoga's CORS headers (origin echoed, credentials
 * allowed) and content negotiation.
 *
 * Stale-while-revalidate: an entry past its max-age but within its grace is served (marked in
 * `Age`, `x-cache: STALE` and, in debug mode, `extensions.responseCache.stale`) while one request
 * per key and process refreshes it in the background. Invalidated entries are deleted, never stale.
 */
import { LRUCache } from 'lru-cache';
import type { CacheCounters } from '../counters.js';
import type { DocumentIndex } from './documents.js';
import { decodeEntry, freshness } from './entry.js';
import type { ResponseCacheServerContext } from './handoff.js';
import { answersNotModified, entryHeaders, matchesIfNoneMatch } from './headers.js';
import { jsonDepthExceeds } from './json-depth.js';
import { responseCacheKey } from './key.js';
import type { Scope } from './policy.js';
import type { Lookup, ResponseStore } from './store.js';

/** The parts of a request serve reads, whatever the transport. */
export type ServeRequest = {
  method: string;
  /** Path and query string. */
  url: string;
  header(name: string): string | undefined;
  body: Buffer | null;
};

export type ServedAnswer = {
  status: number;
  headers: Record<string, string>;
  body: Buffer | null;
  /** For the request log and metrics. */
  operation: string;
  cache: 'hit' | 'stale';
};

/** Serve declined: hand `context` to yoga as (part of) its server context. */
export type Declined = { context: ResponseCacheServerContext };

/** Runs the request through yoga with this server context, to refresh a stale entry. */
export type Rerun = (request: ServeRequest, context: ResponseCacheServerContext) => Promise<void>;

export type ServeDeps = {
  store: ResponseStore;
  documents: DocumentIndex;
  counters: CacheCounters;
  debug: boolean;
  graphqlPath: string;
  maxBodyBytes: number;
  sessionOf(authorization: string | undefined): string | undefined;
};

type Params = { query: string; variables: Record<string, unknown> | undefined; operationName: string | undefined };

const isJsonBody = (req: ServeRequest) => /^application\/json\s*(;|$)/i.test(req.header('content-type') ?? '');
/** Deeper variables go to yoga, which refuses them (the key of such a request is never computed). */
export const MAX_VARIABLES_DEPTH = 64;

const isVariables = (v: unknown): v is Record<string, unknown> | undefined =>
  v === undefined ||
  (v !== null && typeof v === 'object' && !Array.isArray(v) && !jsonDepthExceeds(v, MAX_VARIABLES_DEPTH));

function paramsOf(req: ServeRequest, maxBodyBytes: number): Params | null {
  if (req.method === 'GET') {
    const url = new URL(req.url, 'http://x');
    const query = url.searchParams.get('query');
    if (!query || url.searchParams.has('extensions')) return null;
    const rawVariables = url.searchParams.get('variables');
    let variables: unknown;
    try {
      variables = rawVariables ? JSON.parse(rawVariables) : undefined;
    } catch {
      return null;
    }
    if (!isVariables(variables)) return null;
    return { query, variables, operationName: url.searchParams.get('operationName') ?? undefined };
  }
  if (req.method !== 'POST' || !req.body || req.body.length > maxBodyBytes || !isJsonBody(req)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body.toString('utf8'));
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const { query, variables, operationName, extensions } = parsed as Record<string, unknown>;
  if (typeof query !== 'string' || extensions !== undefined) return null;
  const vars = variables ?? undefined;
  if (!isVariables(vars)) return null;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return null;
  return { query, variables: vars, operationName: operationName ?? undefined };
}

/** yoga's content negotiation for a JSON answer; null when yoga would answer something else (GraphiQL). */
function contentType(accept: string | undefined): string | null {
  if (!accept) return 'application/json; charset=utf-8';
  if (/text\/html/i.test(accept) || /text\/event-stream|multipart\/mixed/i.test(accept)) return null;
  if (/application\/graphql-response\+json/i.test(accept)) return 'application/graphql-response+json; charset=utf-8';
  if (/application\/json|\*\/\*|application\/\*/i.test(accept)) return 'application/json; charset=utf-8';
  return null;
}

/** A recognised request, memoised by its raw form: hot queries skip parsing and hashing. */
type Known = { params: Params; scope: Scope; keys: Map<string, string> };

const RAW_MEMO_MAX = 4096;
/** The memo of recognised requests is bounded by bytes, not by count. */
export const MEMO_MAX_BYTES = 16 * 1024 * 1024;
/** Session keys remembered per recognised request (PRIVATE documents: one per user). */
const KEYS_PER_MEMO = 16;

export function createServe(deps: ServeDeps) {
  const refreshing = new Set<string>();
  // Bounded by bytes: each memo holds a client-chosen URL or body of up to RAW_MEMO_MAX characters,
  // and the keys of at most KEYS_PER_MEMO sessions (about 100 bytes each).
  const known = new LRUCache<string, Known>({
    maxSize: MEMO_MAX_BYTES,
    sizeCalculation: (_, raw) => raw.length + 256 + KEYS_PER_MEMO * 100,
  });

  function recognise(req: ServeRequest): Known | null {
    // The raw request (URL for GET, body for POST) is the memo key; its content type is checked anyway.
    const raw =
      req.method === 'GET'
        ? req.url.length <= RAW_MEMO_MAX
          ? req.url
          : null
        : req.body && req.body.length <= RAW_MEMO_MAX
          ? req.body.toString('latin1')
          : null;
    const memoKey = raw !== null ? `${req.method}\0${raw}` : null;
    const memo = memoKey !== null ? known.get(memoKey) : undefined;
    if (memo && (req.method === 'GET' || isJsonBody(req))) return memo;
    const params = paramsOf(req, deps.maxBodyBytes);
    if (!params) return null;
    const scope = deps.documents.scopeOf(params.query);
    if (!scope) return null;
    const entry: Known = { params, scope, keys: new Map() };
    if (memoKey !== null) known.set(memoKey, entry);
    return entry;
  }

  return Object.assign(serve, {
    /** What the memo of recognised requests holds, in (estimated) bytes: never above MEMO_MAX_BYTES. */
    memoBytes: () => known.calculatedSize,
  });

  async function serve(req: ServeRequest, rerun: Rerun): Promise<ServedAnswer | Declined> {
    const declined: Declined = { context: {} };
    if (req.url.split('?')[0] !== deps.graphqlPath) return declined;
    const type = contentType(req.header('accept'));
    if (!type) return declined;
    const recognised = recognise(req);
    if (!recognised) return declined;
    const { params, scope } = recognised;

    let session: string | null = null;
    if (scope === 'PRIVATE') {
      const vouched = deps.sessionOf(req.header('authorization'));
      if (vouched === undefined) return declined;
      session = vouched;
    }
    let key = recognised.keys.get(session ?? '');
    if (key === undefined) {
      key = responseCacheKey({
        documentString: params.query,
        operationName: params.operationName,
        variableValues: params.variables,
        sessionId: session,
      });
      if (recognised.keys.size >= KEYS_PER_MEMO) recognised.keys.clear();
      recognised.keys.set(session ?? '', key);
    }
    let found: Lookup;
    try {
      found = await deps.store.lookup(key);
    } catch {
      return declined;
    }
    const decoded = found.value && decodeEntry(found.value);
    const f = decoded ? freshness(decoded.meta) : null;
    if (!decoded || !f || f.state === 'expired') {
      // Nothing servable: hand yoga the lookup as a miss, so it costs no second round trip.
      return {
        context: { responseCacheHandoff: { lookup: { key, lookup: { value: null, generation: found.generation } } } },
      };
    }
    const entry = decoded.meta;

    const stale = f.state === 'stale';
    if (stale && !refreshing.has(key)) {
      refreshing.add(key);
      const refreshed = key;
      void rerun(req, { responseCacheHandoff: { refresh: true } })
        .catch(() => {}) // a failed refresh leaves the stale entry to expire; nobody waits on it
        .finally(() => refreshing.delete(refreshed));
    }
    deps.counters.inc('response_hit', scope);
    if (stale) deps.counters.inc('response_stale_served', scope);

    // Read from the shared store: an invalidation of its tags purges the edge after it.
    const headers = entryHeaders(entry, f, stale ? 'STALE' : 'HIT', true);
    const origin = req.header('origin');
    if (origin) {
      headers['access-control-allow-origin'] = origin;
      headers['access-control-allow-credentials'] = 'true';
      headers.vary = headers.vary ? `Origin, ${headers.vary}` : 'Origin';
    }
    const operation = params.operationName ?? 'anonymous';
    const cache = stale ? 'stale' : 'hit';
    if (answersNotModified(req.method) && matchesIfNoneMatch(req.header('if-none-match'), entry.etag))
      return { status: 304, headers, body: null, operation, cache };

    let bytes = decoded.body;
    if (deps.debug && bytes[bytes.length - 1] === 0x7d) {
      const meta = JSON.stringify({ responseCache: { hit: true, scope, ...(stale ? { stale: true } : {}) } });
      bytes = Buffer.concat([bytes.subarray(0, -1), Buffer.from(`,"extensions":${meta}}`)]);
    }
    return {
      status: 200,
      headers: { 'content-type': type, 'content-length': String(bytes.length), ...headers },
      body: bytes,
      operation,
      cache,
    };
  }
}

export const isServed = (r: ServedAnswer | Declined): r is ServedAnswer => 'status' in r;
