/**
 * What a response-cache entry holds: a header line, the entry's edge keys, then the response body
 * exactly as sent.
 *   "2 <storedAt ms> <maxAge ms> <grace ms> <P|R> <etag>\n<edge keys, or ->\n<body>"
 * The body is served as it is (no parse, no re-serialise); the header lets any server tell fresh
 * from stale and answer validators without touching the body, and the edge keys (the entry's tags
 * as `Surrogate-Key`, src/cache/edge/keys.ts) come with the same one read. Version 1 entries (no
 * keys line) are still read: their answers are simply not kept at the edge.
 */
import { createHash } from 'node:crypto';
import { EDGE_KEYS_MAX_BYTES } from '../edge/keys.js';
import type { Scope } from './policy.js';

/** What an entry says about its body: everything the HTTP headers and freshness need. */
export type EntryMeta = {
  etag: string;
  storedAt: number;
  maxAgeMs: number;
  /** How long past maxAge the entry may still be served while one request refreshes it. */
  graceMs: number;
  scope: Scope;
  /** The entry's tags as space-separated edge keys; null when PRIVATE or when they did not fit. */
  edgeKeys: string | null;
};

/** A strong validator: a digest of the body, quoted. */
export const etagOf = (body: string): string =>
  `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

export function encodeEntry(m: EntryMeta, body: string): string {
  const scope = m.scope === 'PRIVATE' ? 'R' : 'P';
  return `2 ${m.storedAt} ${m.maxAgeMs} ${m.graceMs} ${scope} ${m.etag}\n${m.edgeKeys ?? '-'}\n${body}`;
}

/**
 * Reads the header lines; the body stays a slice of the stored bytes (no copy, no decode). Null for
 * anything that is not an entry of a known format (an older deploy's, or garbage).
 */
export type DecodedEntry = { meta: EntryMeta; body: Buffer };

export function decodeEntry(raw: Buffer): DecodedEntry | null {
  const newline = raw.indexOf(10);
  if (newline < 0 || newline > 200) return null;
  const [version, storedAt, maxAge, grace, scope, etag] = raw.toString('latin1', 0, newline).split(' ');
  if ((version !== '1' && version !== '2') || !storedAt || !maxAge || !grace || !etag) return null;
  if (scope !== 'P' && scope !== 'R') return null;
  let edgeKeys: string | null = null;
  let bodyAt = newline + 1;
  if (version === '2') {
    const end = raw.indexOf(10, bodyAt);
    if (end < 0 || end - bodyAt > EDGE_KEYS_MAX_BYTES) return null;
    const keys = raw.toString('latin1', bodyAt, end);
    edgeKeys = keys === '-' || scope === 'R' ? null : keys;
    bodyAt = end + 1;
  }
  return {
    meta: {
      etag,
      storedAt: Number(storedAt),
      maxAgeMs: Number(maxAge),
      graceMs: Number(grace),
      scope: scope === 'R' ? 'PRIVATE' : 'PUBLIC',
      edgeKeys,
    },
    body: raw.subarray(bodyAt),
  };
}

export type Freshness = { ageMs: number; state: 'fresh' | 'stale' | 'expired' };

export function freshness(e: EntryMeta, now = Date.now()): Freshness {
  const ageMs = Math.max(0, now - e.storedAt);
  return { ageMs, state: ageMs < e.maxAgeMs ? 'fresh' : ageMs < e.maxAgeMs + e.graceMs ? 'stale' : 'expired' };
}
