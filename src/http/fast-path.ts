/**
 * The lean hit: answers a cached query before yoga is involved at all — no parse, no validation,
 * no execution, no JSON round trip — with one Redis round trip, writing the stored bytes as they are.
 *
 * It answers only what it can answer exactly as yoga would: GET or POST on the GraphQL path, JSON in
 * and out, a document yoga has already executed here (so parsing, validation and limits passed),
 * and for a PRIVATE document, a token this server has recently seen verified. Everything else —
 * and every miss — goes to yoga, with the lookup handed over so a miss still costs one lookup.
 * It replicates yoga's CORS headers (origin echoed, credentials allowed) and content negotiation.
 *
 * Stale-while-revalidate: an entry past its max-age but within its grace is served (marked in
 * `Age`, `x-cache: STALE` and, in debug mode, `extensions.responseCache.stale`) while one request
 * per key and process refreshes it in the background. Invalidated entries are deleted, never stale.
 */
import { LRUCache } from 'lru-cache';
import { hashToken, bearerToken } from '../auth/tokens.js';
import type { TokenCache } from '../auth/token-cache.js';
import type { CacheCounters } from '../cache/counters.js';
import { cacheHeaders, decodeEntry, freshness, matchesIfNoneMatch } from '../cache/response/entry.js';
import { responseCacheKey } from '../cache/response/key.js';
import type { DocumentIndex } from '../cache/response/plugin.js';
import type { Scope } from '../cache/response/policy.js';
import type { Lookup, ResponseStore } from '../cache/response/store.js';

export const GRAPHQL_PATH = '/graphql';
/** Larger bodies go to yoga (it has the full rules for them). */
export const FAST_PATH_MAX_BODY = 64 * 1024;

/** The parts of a request the fast path reads, whatever the transport. */
export type FastRequest = {
  method: string;
  /** Path and query string. */
  url: string;
  header(name: string): string | undefined;
  body: Buffer | null;
};

export type FastAnswer = {
  status: number;
  headers: Record<string, string>;
  body: Buffer | null;
  /** For the request log and metrics. */
  operation: string;
  cache: 'hit' | 'stale';
};

/** The fast path declined; `lookup` is handed to yoga when it already looked. */
export type FastDecline = { lookup?: { key: string; lookup: Lookup } };

export class LearntDocuments implements DocumentIndex {
  private readonly scopes = new LRUCache<string, Scope>({ max: 2000 });
  remember(query: string, scope: Scope): void {
    if (query.length <= 20_000) this.scopes.set(query, scope);
  }
  scopeOf(query: string): Scope | undefined {
    return this.scopes.get(query);
  }
}

export type FastPathDeps = {
  store: ResponseStore;
  documents: LearntDocuments;
  tokens: TokenCache;
  counters: CacheCounters;
  debug: boolean;
  /** Re-runs the request through yoga without the cache answering it, to refresh a stale entry. */
  refresh(request: FastRequest): Promise<void>;
};

const isJsonBody = (req: FastRequest) => /^application\/json\s*(;|$)/i.test(req.header('content-type') ?? '');

type Params = { query: string; variables: Record<string, unknown> | undefined; operationName: string | undefined };

function paramsOf(req: FastRequest): Params | null {
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
    if (variables !== undefined && (variables === null || typeof variables !== 'object' || Array.isArray(variables))) return null;
    return { query, variables: variables as Params['variables'], operationName: url.searchParams.get('operationName') ?? undefined };
  }
  if (req.method !== 'POST' || !req.body || req.body.length > FAST_PATH_MAX_BODY) return null;
  if (!isJsonBody(req)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(req.body.toString('utf8'));
  } catch {
    return null;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const p = parsed as Record<string, unknown>;
  if (typeof p.query !== 'string' || p.extensions !== undefined) return null;
  if (p.variables !== undefined && p.variables !== null && (typeof p.variables !== 'object' || Array.isArray(p.variables))) return null;
  if (p.operationName !== undefined && p.operationName !== null && typeof p.operationName !== 'string') return null;
  return {
    query: p.query,
    variables: (p.variables ?? undefined) as Params['variables'],
    operationName: (p.operationName ?? undefined) as string | undefined,
  };
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

export function createFastPath(deps: FastPathDeps) {
  const refreshing = new Set<string>();
  const known = new LRUCache<string, Known>({ max: 5000 });

  function recognise(req: FastRequest): Known | null {
    // The raw request (URL for GET, body for POST) is the memo key; its content type is checked anyway.
    const raw = req.method === 'GET' ? req.url : req.body && req.body.length <= 4096 ? req.body.toString('latin1') : null;
    const memo = raw !== null ? known.get(`${req.method}\0${raw}`) : undefined;
    if (memo && (req.method === 'GET' || isJsonBody(req))) return memo;
    const params = paramsOf(req);
    if (!params) return null;
    const scope = deps.documents.scopeOf(params.query);
    if (!scope) return null;
    const entry: Known = { params, scope, keys: new Map() };
    if (raw !== null) known.set(`${req.method}\0${raw}`, entry);
    return entry;
  }

  return async (req: FastRequest): Promise<FastAnswer | FastDecline> => {
    const path = req.url.split('?')[0];
    if (path !== GRAPHQL_PATH) return {};
    const type = contentType(req.header('accept'));
    if (!type) return {};
    const recognised = recognise(req);
    if (!recognised) return {};
    const { params, scope } = recognised;

    let session: string | null = null;
    if (scope === 'PRIVATE') {
      const authorization = req.header('authorization');
      if (!authorization) session = 'anon';
      else {
        const token = bearerToken(authorization);
        const userId = token ? deps.tokens.userOf(hashToken(token)) : undefined;
        if (userId === undefined) return {};
        session = `u:${userId}`;
      }
    }
    let key = recognised.keys.get(session ?? '');
    if (key === undefined) {
      key = responseCacheKey({
        documentString: params.query,
        operationName: params.operationName,
        variableValues: params.variables,
        sessionId: session,
      });
      if (recognised.keys.size < 1000) recognised.keys.set(session ?? '', key);
    }
    let found: Lookup;
    try {
      found = await deps.store.lookup(key);
    } catch {
      return {};
    }
    const decoded = found.value && decodeEntry(found.value);
    const entry = decoded?.meta;
    const f = entry && freshness(entry);
    if (!decoded || !entry || !f || f.state === 'expired') {
      // Nothing servable: hand yoga the lookup as a miss, so it costs no second round trip.
      return { lookup: { key, lookup: { value: null, generation: found.generation } } };
    }

    const stale = f.state === 'stale';
    if (stale && !refreshing.has(key)) {
      refreshing.add(key);
      void deps.refresh(req).finally(() => refreshing.delete(key));
    }
    deps.counters.inc('response_hit', scope);
    if (stale) deps.counters.inc('response_stale_served', scope);

    const headers: Record<string, string> = { ...cacheHeaders(entry, f), 'x-cache': stale ? 'STALE' : 'HIT' };
    const origin = req.header('origin');
    if (origin) {
      headers['access-control-allow-origin'] = origin;
      headers['access-control-allow-credentials'] = 'true';
      headers.vary = headers.vary ? `Origin, ${headers.vary}` : 'Origin';
    }
    const operation = params.operationName ?? 'anonymous';
    const cache = stale ? 'stale' : 'hit';
    if (matchesIfNoneMatch(req.header('if-none-match'), entry.etag)) return { status: 304, headers, body: null, operation, cache };

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
  };
}

export const isAnswer = (r: FastAnswer | FastDecline): r is FastAnswer => 'status' in r;
