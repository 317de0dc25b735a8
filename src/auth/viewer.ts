/**
 * Who is asking. The Authorization header is only looked up when something needs the viewer, so a
 * public query never pays a database round trip for its token.
 */
import { unauthenticated } from '../errors.js';
import type { UserRepository } from '../db/repositories/users.js';
import type { UserRoleValue } from '../db/schema.js';
import type { TokenCache } from './token-cache.js';
import { bearerToken, hashToken } from './tokens.js';

export type Viewer = { id: number; username: string; role: UserRoleValue; tokenHash: string };

export type Auth = {
  /** True when the request carries a bearer token (valid or not). */
  readonly hasToken: boolean;
  /** The signed-in user, null when anonymous; UNAUTHENTICATED when the token is unknown or revoked. */
  viewer(): Promise<Viewer | null>;
  /** The viewer if already resolved (sync), for code that must not wait. */
  readonly resolved: Viewer | null | undefined;
};

export function createAuth(authorization: string | null, users: UserRepository, tokens?: TokenCache): Auth {
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
        const user = await users.userByTokenHash(tokenHash);
        if (!user) throw unauthenticated('the token is unknown or was revoked; log in again');
        resolved = { id: user.id, username: user.username, role: user.role, tokenHash };
        tokens?.remember(tokenHash, user.id);
        return resolved;
      })();
      return pending;
    },
  };
}
