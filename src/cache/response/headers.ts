/**
 * The HTTP headers of an answer the response cache was asked about, in one place for both ways an
 * answer leaves: the lean hit (serve.ts) and yoga's response hook (plugins.ts).
 *   PUBLIC entry:  Cache-Control: public, max-age=<remaining>; ETag; Age
 *   PRIVATE entry: Cache-Control: private, no-cache; Vary: Authorization; ETag; Age
 *   anything else (mutations, errors, uncacheable): Cache-Control: no-store
 * plus `x-cache: HIT | MISS | STALE`.
 */
import type { EntryMeta, Freshness } from './entry.js';

export type CacheMark = 'HIT' | 'MISS' | 'STALE';

export function entryHeaders(e: EntryMeta, f: Freshness, mark: CacheMark): Record<string, string> {
  const age = String(Math.floor(f.ageMs / 1000));
  if (e.scope === 'PRIVATE')
    return { 'cache-control': 'private, no-cache', vary: 'Authorization', etag: e.etag, age, 'x-cache': mark };
  const remaining = f.state === 'fresh' ? Math.max(0, Math.floor((e.maxAgeMs - f.ageMs) / 1000)) : 0;
  return { 'cache-control': `public, max-age=${remaining}`, etag: e.etag, age, 'x-cache': mark };
}

/** Nobody may keep an answer that is not a cache entry. */
export const NOT_CACHEABLE = { 'cache-control': 'no-store' } as const;

/**
 * Whether an If-None-Match header names this entry. Treated as untrusted: only a well-formed list
 * of entity tags of sane length is read, `*` matches nothing (it must never stand for "any entry"),
 * and weak comparison applies (W/ prefixes ignored), as RFC 9110 requires for If-None-Match.
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
