/**
 * What a response-cache entry holds: one header line, then the response body exactly as sent.
 *   "1 <storedAt ms> <maxAge ms> <grace ms> <P|R> <etag>\n<body>"
 * The body is served as it is (no parse, no re-serialise); the header lets any server tell fresh
 * from stale and answer validators without touching the body.
 */
import { createHash } from 'node:crypto';
import type { Scope } from './policy.js';

export type Entry = {
  body: string;
  etag: string;
  storedAt: number;
  maxAgeMs: number;
  /** How long past maxAge the entry may still be served while one request refreshes it. */
  graceMs: number;
  scope: Scope;
};

/** A strong validator: a digest of the body, quoted. */
export const etagOf = (body: string): string => `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

export function encodeEntry(e: Entry): string {
  return `1 ${e.storedAt} ${e.maxAgeMs} ${e.graceMs} ${e.scope === 'PRIVATE' ? 'R' : 'P'} ${e.etag}\n${e.body}`;
}

/** Null for anything that is not an entry of this format (an older deploy's, or garbage). */
export function decodeEntry(raw: string): Entry | null {
  const newline = raw.indexOf('\n');
  if (newline < 0 || !raw.startsWith('1 ')) return null;
  const [, storedAt, maxAge, grace, scope, etag] = raw.slice(0, newline).split(' ');
  if (!storedAt || !maxAge || !grace || !etag || (scope !== 'P' && scope !== 'R')) return null;
  return {
    body: raw.slice(newline + 1),
    etag,
    storedAt: Number(storedAt),
    maxAgeMs: Number(maxAge),
    graceMs: Number(grace),
    scope: scope === 'R' ? 'PRIVATE' : 'PUBLIC',
  };
}

/** The entry's header, read from its bytes; the body stays a slice of them (no copy, no decode). */
export function decodeEntryBytes(raw: Buffer): { meta: Omit<Entry, 'body'>; body: Buffer } | null {
  const newline = raw.indexOf(10);
  if (newline < 0 || newline > 200) return null;
  const meta = decodeEntry(`${raw.toString('latin1', 0, newline)}\n`);
  if (!meta) return null;
  const { body: _, ...rest } = meta;
  return { meta: rest, body: raw.subarray(newline + 1) };
}

export type Freshness = { ageMs: number; state: 'fresh' | 'stale' | 'expired' };

export function freshness(e: Omit<Entry, 'body'>, now = Date.now()): Freshness {
  const ageMs = Math.max(0, now - e.storedAt);
  return { ageMs, state: ageMs < e.maxAgeMs ? 'fresh' : ageMs < e.maxAgeMs + e.graceMs ? 'stale' : 'expired' };
}

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

/** Cache-Control, Age and Vary for a cached answer. */
export function cacheHeaders(e: Omit<Entry, 'body'>, f: Freshness): Record<string, string> {
  const age = String(Math.floor(f.ageMs / 1000));
  if (e.scope === 'PRIVATE') return { 'cache-control': 'private, no-cache', vary: 'Authorization', etag: e.etag, age };
  const remaining = f.state === 'fresh' ? Math.max(0, Math.floor((e.maxAgeMs - f.ageMs) / 1000)) : 0;
  return { 'cache-control': `public, max-age=${remaining}`, etag: e.etag, age };
}
