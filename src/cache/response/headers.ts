/**
 * The HTTP headers of an answer the response cache was asked about, in one place for both ways an
 * answer leaves: the lean hit (serve.ts) and yoga's response hook (plugins.ts).
 *
 *   PUBLIC entry:  Cache-Control: public, no-cache; ETag; Age
 *                  + for the edge we purge, when it may keep the answer:
 *                    Surrogate-Control: max-age=<remaining>; Surrogate-Key: <keys>; Cache-Tag: <keys,>
 *                  + otherwise: Surrogate-Control: no-store
 *   PRIVATE entry: Cache-Control: private, no-cache; Vary: Authorization; ETag; Age
 *   anything else (mutations, errors, uncacheable): Cache-Control: no-store
 * plus `x-cache: HIT | MISS | STALE`.
 *
 * Why: a browser (or any cache we cannot purge) must not answer from its own copy after a mutation,
 * so it revalidates every time (`no-cache`) and the strong ETag makes that a cheap 304. The edge we
 * purge by tag (src/cache/edge/) may keep the answer for the rest of its max-age: `Surrogate-Control`
 * is read by surrogates only (Varnish, Fastly) and removed by them before the answer goes on.
 */
import type { EntryMeta, Freshness } from './entry.js';

export type CacheMark = 'HIT' | 'MISS' | 'STALE';

/**
 * `edgeMaxAgeMs`: the longest the edge may keep this answer; 0 when it may not keep it at all (no
 * edge is purged, or the answer is not what the shared store holds: only a hit, or a miss whose
 * write was stored, will be reached by a purge after an invalidation of its tags). The cap bounds
 * what a lost purge can cost.
 */
export function entryHeaders(
  e: EntryMeta,
  f: Freshness,
  mark: CacheMark,
  edgeMaxAgeMs: number,
): Record<string, string> {
  const age = String(Math.floor(f.ageMs / 1000));
  if (e.scope === 'PRIVATE')
    return { 'cache-control': 'private, no-cache', vary: 'Authorization', etag: e.etag, age, 'x-cache': mark };
  const headers: Record<string, string> = { 'cache-control': 'public, no-cache', etag: e.etag, age, 'x-cache': mark };
  // A stale answer is being refreshed: the edge must not keep it. Nor an answer whose keys did not
  // fit (a partial key list would let a purge miss it).
  const remaining = f.state === 'fresh' ? Math.floor(Math.min(e.maxAgeMs - f.ageMs, edgeMaxAgeMs) / 1000) : 0;
  if (remaining <= 0 || e.edgeKeys === null) {
    headers['surrogate-control'] = 'no-store';
    return headers;
  }
  headers['surrogate-control'] = `max-age=${remaining}`;
  headers['surrogate-key'] = e.edgeKeys;
  headers['cache-tag'] = e.edgeKeys.replaceAll(' ', ',');
  return headers;
}

/** Nobody may keep an answer that is not a cache entry. */
export const NOT_CACHEABLE = { 'cache-control': 'no-store' } as const;

/**
 * RFC 9110 §13.1.2: If-None-Match makes GET and HEAD answer 304; any other method (a GraphQL POST)
 * gets its full answer, whatever validator it sends.
 */
export const answersNotModified = (method: string): boolean => method === 'GET' || method === 'HEAD';

/**
 * Whether an If-None-Match header names this entry. Treated as untrusted: only a well-formed list
 * of entity tags of sane length is read, `*` matches nothing (it must never stand for "any entry":
 * RFC 9110 would answer 304 to it, but a full 200 is always a correct answer and `*` validates no
 * copy we issued), and weak comparison applies (W/ prefixes ignored), as RFC 9110 requires for
 * If-None-Match.
 */
export function matchesIfNoneMatch(header: string | null | undefined, etag: string): boolean {
  if (!header || header.length > 1024) return false;
  const opaque = etag.replace(/^W\//, '');
  for (const part of header.split(',')) {
    const tag = part.trim().replace(/^W\//, '');
    if (/^"[\x21\x23-\x7e]*"$/.test(tag) && tag === opaque) return true;
  }
  return false;
}
