/** Bearer tokens: random, shown once at login, stored only as a SHA-256 digest. */
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export const newToken = (): string => `kv_${randomBytes(32).toString('base64url')}`;
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The token in `Authorization: Bearer <token>`, or null when absent or not of that shape. */
export function bearerToken(header: string | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+([A-Za-z0-9_\-.~+/]{10,200}=*)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

/**
 * `hashToken(bearerToken(header))` for an Authorization header, remembered for the last `max`
 * headers seen (null: not a bearer token). The lean hit asks it on every private request, and a
 * header always hashes the same, so only the first of a client's requests pays the digest. What the
 * token may open is still decided per request, by the token cache.
 */
export function tokenHasher(max = 10_000): (authorization: string) => string | null {
  const hashes = new LRUCache<string, { hash: string | null }>({ max });
  return (authorization) => {
    // No bearer header is this long (a token is at most 200 characters): not one to remember.
    if (authorization.length > 256) return null;
    const known = hashes.get(authorization);
    if (known) return known.hash;
    const token = bearerToken(authorization);
    const hash = token ? hashToken(token) : null;
    hashes.set(authorization, { hash });
    return hash;
  };
}
