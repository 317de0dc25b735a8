/**
 * The lean hit: answers a cached query before yoga is involved at all (no parse, no validation,
 * no execution, no JSON round trip) with one store round trip, writing the stored bytes as they are.
 *
 * It answers only what it can answer exactly as yoga would: GET or POST on the GraphQL path, JSON in
 * and out, a document yoga has already executed here (so parsing, validation and limits passed),
 * and for a PRIVATE document, a caller whose session the `sessionOf` option can vouch for. A
 * persisted query's hash stands for its document when `persistedDocument` knows it; extensions
 * other than that and IGNORED_EXTENSIONS make it decline.
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
import { LEASE_MS } from './coalescing.js';
import type { DocumentIndex } from './documents.js';
import { decodeEntry, freshness, type DecodedEntry, type Freshness } from './entry.js';
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
  /** A new object for each answer: the transport adds its own (the request id) to it. */
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
  /** Persisted documents by hash, for requests that send a hash instead of the query. Default: none. */
  persistedDocument?: PersistedDocumentOf;
  /** The longest the edge may keep an answer; 0: there is no edge we purge. */
  edgeMaxAgeMs: number;
};

type Params = { query: string; variables: Record<string, unknown> | undefined; operationName: string | undefined };

/** Resolves a persisted document's hash to its text, from memory only; undefined when not known here. */
export type PersistedDocumentOf = (hash: string) => string | undefined;

/** The path of a request target (what precedes `?`), without the array `split` would make on every hit. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

const isJsonBody = (req: ServeRequest) => /^application\/json\s*(;|$)/i.test(req.header('content-type') ?? '');
/** Deeper variables go to yoga, which refuses them (the key of such a request is never computed). */
export const MAX_VARIABLES_DEPTH = 64;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isVariables = (v: unknown): v is Record<string, unknown> | undefined =>
  v === undefined || (isObject(v) && !jsonDepthExceeds(v, MAX_VARIABLES_DEPTH));

/**
 * Extensions that never change the answer (Apollo Client names itself in `clientLibrary` on every
 * request): the lean hit answers despite them, and no cache key includes extensions. Any other
 * extension but a persisted query's hash makes it decline, as it cannot know what that one means.
 */
export const IGNORED_EXTENSIONS: ReadonlySet<string> = new Set(['clientLibrary']);
const SHA256 = /^[0-9a-f]{64}$/i;

/**
 * The document a request names: its query, or the document of its persisted hash
 * (`extensions.persistedQuery` v1, or `documentId: "sha256:<hex>"`) when known here. Null: decline.
 */
function documentOf(
  query: unknown,
  extensions: unknown,
  documentId: unknown,
  persisted: PersistedDocumentOf | undefined,
): string | null {
  let hash: string | undefined;
  if (extensions !== undefined && extensions !== null) {
    if (!isObject(extensions)) return null;
    for (const [name, value] of Object.entries(extensions)) {
      if (name === 'persistedQuery') {
        if (!isObject(value) || value.version !== 1) return null;
        if (typeof value.sha256Hash !== 'string' || !SHA256.test(value.sha256Hash)) return null;
        hash = value.sha256Hash.toLowerCase();
      } else if (!IGNORED_EXTENSIONS.has(name)) return null;
    }
  }
  if (documentId !== undefined && documentId !== null) {
    if (hash !== undefined || typeof documentId !== 'string' || !documentId.startsWith('sha256:')) return null;
    if (!SHA256.test(documentId.slice(7))) return null;
    hash = documentId.slice(7).toLowerCase();
  }
  const sent = query === undefined || query === null ? undefined : query;
  if (hash === undefined) return typeof sent === 'string' && sent !== '' ? sent : null;
  const document = persisted?.(hash);
  // A query sent along with its hash must be exactly that document; yoga says what is wrong otherwise.
  if (document === undefined || (sent !== undefined && sent !== document)) return null;
  return document;
}

function paramsOf(req: ServeRequest, maxBodyBytes: number, persisted: PersistedDocumentOf | undefined): Params | null {
  if (req.method === 'GET') {
    const url = new URL(req.url, 'http://x');
    const search = url.searchParams;
    let variables: unknown;
    let extensions: unknown;
    try {
      const rawVariables = search.get('variables');
      const rawExtensions = search.get('extensions');
      variables = rawVariables ? JSON.parse(rawVariables) : undefined;
      extensions = rawExtensions !== null ? JSON.parse(rawExtensions) : undefined;
    } catch {
      return null;
    }
    const query = documentOf(
      search.get('query') ?? undefined,
      extensions,
      search.get('documentId') ?? undefined,
      persisted,
    );
    if (query === null || !isVariables(variables)) return null;
    return { query, variables, operationName: search.get('operationName') ?? undefined };
  }
  if (req.method !== 'POST' || !req.body || req.body.length > maxBodyBytes || !isJsonBody(req)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body.toString('utf8'));
  } catch {
    return null;
  }
  if (!isObject(parsed)) return null;
  const { variables, operationName } = parsed;
  const query = documentOf(parsed.query, parsed.extensions, parsed.documentId, persisted);
  if (query === null) return null;
  const vars = variables ?? undefined;
  if (!isVariables(vars)) return null;
  if (operationName !== undefined && operationName !== null && typeof operationName !== 'string') return null;
  return { query, variables: vars, operationName: operationName ?? undefined };
}

const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';

/**
 * Clients send the same few Accept headers again and again: their answers are remembered (a small
 * map, emptied when full, so a client sending new ones each time costs only the parse it would anyway).
 */
const ACCEPT_MEMO_MAX = 64;
const acceptMemo = new Map<string, string | null>();

function contentType(accept: string | undefined): string | null {
  if (!accept) return JSON_TYPE;
  const known = acceptMemo.get(accept);
  if (known !== undefined) return known;
  const type = negotiate(accept);
  if (acceptMemo.size >= ACCEPT_MEMO_MAX) acceptMemo.clear();
  acceptMemo.set(accept, type);
  return type;
}

/**
 * yoga's content negotiation for a non-streamed result (graphql-yoga's use-result-processor.ts):
 * the first listed media type that the JSON processor serves decides, whatever streaming types are
 * listed beside it (urql sends `…, application/json, text/event-stream, multipart/mixed`); entries
 * with a charset other than utf-8 are skipped. Null when yoga would answer something else: GraphiQL
 * (`text/html`) or a stream because no JSON type is acceptable.
 */
function negotiate(accept: string): string | null {
  if (accept.length > 1024 || /text\/html/i.test(accept)) return null;
  for (const entry of accept.replace(/\s/g, '').toLowerCase().split(',')) {
    const [type, ...params] = entry.split(';');
    const charset = params.find((p) => p.startsWith('charset='));
    if (charset !== undefined && charset !== 'charset=utf-8') continue;
    if (type === 'application/graphql-response+json') return GRAPHQL_RESPONSE_TYPE;
    if (type === 'application/json' || type === 'application/*' || type === '*/*') return JSON_TYPE;
  }
  return null;
}

/**
 * A recognised request, memoised by its raw form: hot queries skip parsing and hashing. A PUBLIC
 * one holds its cache key; a PRIVATE one's keys (one per session) are in `sessionKeys`, under `id`.
 */
type Known = {
  params: Params;
  scope: Scope;
  /** The name yoga's request log gives the operation: the one sent, or the document's only one's. */
  operation: string;
  id: number;
  memoised: boolean;
  key?: string;
};

const RAW_MEMO_MAX = 4096;
/** The memo of recognised requests is bounded by bytes, not by count. */
export const MEMO_MAX_BYTES = 16 * 1024 * 1024;
/**
 * The cache keys of PRIVATE requests, one per request and session, bounded by bytes too: a per-memo
 * handful would be recomputed (hashed) on nearly every hit once more users than that share a query.
 */
export const SESSION_KEYS_MAX_BYTES = 4 * 1024 * 1024;

export function createServe(deps: ServeDeps) {
  const refreshing = new Set<string>();
  // Bounded by bytes: each memo holds a client-chosen URL or body of up to RAW_MEMO_MAX characters.
  const known = new LRUCache<string, Known>({
    maxSize: MEMO_MAX_BYTES,
    // Twice the raw text: the parsed params hold about as much again.
    sizeCalculation: (_, raw) => 2 * raw.length + 256,
  });
  let nextId = 0;
  /** `<memo id>\0<session>` → the cache key; a session is as long as sessionOf makes it. */
  const sessionKeys = new LRUCache<string, string>({
    maxSize: SESSION_KEYS_MAX_BYTES,
    sizeCalculation: (key, sessionKey) => key.length + sessionKey.length + 64,
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
    const params = paramsOf(req, deps.maxBodyBytes, deps.persistedDocument);
    if (!params) return null;
    const document = deps.documents.recall(params.query);
    if (!document) return null;
    const operation = params.operationName ?? document.soleOperation ?? 'anonymous';
    const entry: Known = { params, scope: document.scope, operation, id: nextId++, memoised: memoKey !== null };
    if (memoKey !== null) known.set(memoKey, entry);
    return entry;
  }

  return Object.assign(serve, {
    /** What the memo of recognised requests holds, in (estimated) bytes: never above MEMO_MAX_BYTES. */
    memoBytes: () => known.calculatedSize,
    /** What the PRIVATE requests' keys take, in (estimated) bytes: never above SESSION_KEYS_MAX_BYTES. */
    sessionKeyBytes: () => sessionKeys.calculatedSize,
  });

  /**
   * Answered without a promise when process memory holds a fresh entry (the hot path: a promise and
   * its await cost a hit more than the lookup does); a promise when the store must be asked.
   */
  function serve(req: ServeRequest, rerun: Rerun): ServedAnswer | Declined | Promise<ServedAnswer | Declined> {
    const declined: Declined = { context: {} };
    if (pathOf(req.url) !== deps.graphqlPath) return declined;
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
    const sessionKey = session === null ? null : `${recognised.id}\0${session}`;
    let key = sessionKey === null ? recognised.key : sessionKeys.get(sessionKey);
    if (key === undefined) {
      key = responseCacheKey({
        documentString: params.query,
        operationName: params.operationName,
        variableValues: params.variables,
        sessionId: session,
      });
      if (sessionKey === null) recognised.key = key;
      // A request too large to memoise is never recognised again: its key would only push others out.
      else if (recognised.memoised) sessionKeys.set(sessionKey, key);
    }
    // Process memory first (no promise, the entry already decoded), then the store. Freshness is
    // decided here, once: one that turned stale since the layer looked is asked of the store (whose
    // generation a miss hands to yoga).
    const local = deps.store.peek?.(key);
    const f = local ? freshness(local.entry.meta) : null;
    if (local && f?.state === 'fresh') return answer(req, rerun, recognised, key, type, local.entry, f);
    return fromStore(req, rerun, recognised, key, type);
  }

  async function fromStore(
    req: ServeRequest,
    rerun: Rerun,
    recognised: Known,
    key: string,
    type: string,
  ): Promise<ServedAnswer | Declined> {
    let found: Lookup;
    try {
      // A miss goes on to execute: its fill lease is taken with the lookup.
      found = await deps.store.lookup(key, false, LEASE_MS);
    } catch {
      return { context: {} };
    }
    const decoded = found.value && decodeEntry(found.value);
    const f = decoded ? freshness(decoded.meta) : null;
    if (!decoded || !f || f.state === 'expired') {
      // Nothing servable: hand yoga the lookup as a miss (with its lease, if it took one), so it
      // costs no second round trip.
      const miss: Lookup = { value: null, generation: found.generation };
      if (found.lease) miss.lease = found.lease;
      return { context: { responseCacheHandoff: { lookup: { key, lookup: miss } } } };
    }
    return answer(req, rerun, recognised, key, type, decoded, f);
  }

  /** The answer of a servable entry (fresh, or stale within its grace: then refreshed in the background). */
  function answer(
    req: ServeRequest,
    rerun: Rerun,
    { scope, operation }: Known,
    key: string,
    type: string,
    decoded: DecodedEntry,
    f: Freshness,
  ): ServedAnswer {
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
    const headers = entryHeaders(entry, f, stale ? 'STALE' : 'HIT', deps.edgeMaxAgeMs);
    const origin = req.header('origin');
    if (origin) {
      headers['access-control-allow-origin'] = origin;
      headers['access-control-allow-credentials'] = 'true';
      headers.vary = headers.vary ? `Origin, ${headers.vary}` : 'Origin';
    }
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
