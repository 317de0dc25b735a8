/**
 * What a response-cache entry holds: one header line, then the response body exactly as sent.
 *   "1 <storedAt ms> <maxAge ms> <grace ms> <P|R> <etag>\n<body>"
 * The body is served as it is (no parse, no re-serialise); the header lets any server tell fresh
 * from stale and answer validators without touching the body.
 */
import { createHash } from 'node:crypto';
import type { Scope } from './policy.js';

/** What an entry says about its body: everything the HTTP headers and freshness need. */
export type EntryMeta = {
  etag: string;
  storedAt: number;
  maxAgeMs: number;
  /** How long past maxAge the entry may still be served while one request refreshes it. */
  graceMs: number;
  scope: Scope;
};

/** A strong validator: a digest of the body, quoted. */
export const etagOf = (body: string): string =>
  `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;

export function encodeEntry(m: EntryMeta, body: string): string {
  return `1 ${m.storedAt} ${m.maxAgeMs} ${m.graceMs} ${m.scope === 'PRIVATE' ? 'R' : 'P'} ${m.etag}\n${body}`;
}

/**
 * Reads the header line; the body stays a slice of the stored bytes (no copy, no decode). Null for
 * anything that is not an entry of this format (an older deploy's, or garbage).
 */
export function decodeEntry(raw: Buffer): { meta: EntryMeta; body: Buffer } | null {
  const newline = raw.indexOf(10);
  if (newline < 0 || newline > 200) return null;
  const [version, storedAt, maxAge, grace, scope, etag] = raw.toString('latin1', 0, newline).split(' ');
  if (version !== '1' || !storedAt || !maxAge || !grace || !etag || (scope !== 'P' && scope !== 'R')) return null;
  return {
    meta: {
      etag,
      storedAt: Number(storedAt),
      maxAgeMs: Number(maxAge),
      graceMs: Number(grace),
      scope: scope === 'R' ? 'PRIVATE' : 'PUBLIC',
    },
    body: raw.subarray(newline + 1),
  };
}

export type Freshness = { ageMs: number; state: 'fresh' | 'stale' | 'expired' };

export function freshness(e: EntryMeta, now = Date.now()): Freshness {
  const ageMs = Math.max(0, now - e.storedAt);
  return { ageMs, state: ageMs < e.maxAgeMs ? 'fresh' : ageMs < e.maxAgeMs + e.graceMs ? 'stale' : 'expired' };
}
