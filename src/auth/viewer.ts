/**
 * Who is asking. The Authorization header is only looked up when something needs the viewer, so a
 * public query never pays a database round trip for its token.
 */
import { unauthenticated } from '../errors.js';
import type { TokenLifetime, UserRepository } from '../db/repositories/users.js';
import type { UserRoleValue } from '../db/schema.js';
import type { TokenCache } from './token-cache.js';
import { bearerToken, hashToken } from './tokens.js';

export type Viewer = { id: number; username: string; role: UserRoleValue; tokenHash: string };

export type Auth = {
  /** True when the request carries a bearer token (valid or not). */
  readonly hasToken: boolean;
  /** The signed-in user, null when anonymous; UNAUTHENTICATED when the token is unknown, revoked or expired. */
  viewer(): Promise<Viewer | null>;
  /** The viewer if already resolved (sync), for code that must not wait. */
  readonly resolved: Viewer | null | undefined;
};

/** 30 days from login, and 7 days unused (TOKEN_TTL_SECONDS, TOKEN_IDLE_SECONDS). */
export const DEFAULT_TOKEN_LIFETIME: TokenLifetime = { ttlSeconds: 30 * 86_400, idleSeconds: 7 * 86_400 };

export function createAuth(
  authorization: string | null,
  users: UserRepository,
  tokens?: TokenCache,
  lifetime: TokenLifetime = DEFAULT_TOKEN_LIFETIME,
): Auth {
  const token = bearerToken(authorization);
  let pending: Promise<Viewer | null> | undefined;
  let resolved: Viewer | null | undefined = token ? undefined : null;
  return {
    hasToken: authorization !== null && authorization !== '',
    get resolved() {
      return resolved;
    },
    viewer() {
      if (authorization && !token)
        return Promise.reject(unauthenticated('the Authorization header must be "Bearer <token>"'));
      if (!token) return Promise.resolve(null);
      pending ??= (async () => {
        const tokenHash = hashToken(token);
        const lookedUpAt = tokens?.now() ?? 0;
        // Checked on every use, in the lookup's one statement: lifetime and idle timeout.
        const found = await users.userByTokenHash(tokenHash, lifetime);
        if (!found) throw unauthenticated('the token is unknown or was revoked; log in again');
        if ('expired' in found) throw unauthenticated(tokenExpiredMessage(lifetime));
        const { user } = found;
        resolved = { id: user.id, username: user.username, role: user.role, tokenHash };
        tokens?.remember(tokenHash, user.id, lookedUpAt, found.remainingMs);
        return resolved;
      })();
      return pending;
    },
  };
}

/** 2592000 → "30 days", 3600 → "1 hour", 600 → "10 minutes", 90 → "90 seconds". */
function duration(seconds: number): string {
  const units: [number, string][] = [
    [86_400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  const [size, unit] = units.find(([size]) => seconds % size === 0) ?? [1, 'second'];
  const n = seconds / size;
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

export const tokenExpiredMessage = (lifetime: TokenLifetime) =>
  `the token has expired (a token lasts ${duration(lifetime.ttlSeconds)} from login and ${duration(lifetime.idleSeconds)} unused); log in again`;
