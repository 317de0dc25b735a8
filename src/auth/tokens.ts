/** Bearer tokens: random, shown once at login, stored only as a SHA-256 digest. */
import { createHash, randomBytes } from 'node:crypto';

export const newToken = (): string => `kv_${randomBytes(32).toString('base64url')}`;
export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The token in `Authorization: Bearer <token>`, or null when absent or not of that shape. */
export function bearerToken(header: string | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+([A-Za-z0-9_\-.~+/]{10,200}=*)\s*$/i.exec(header);
  return match?.[1] ?? null;
}
