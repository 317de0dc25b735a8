/** Login and logout: tokens are issued once and stored only hashed. */
import { LoginThrottle } from '../auth/login-throttle.js';
import { DUMMY_HASH, verifyPassword } from '../auth/passwords.js';
import type { TokenCache } from '../auth/token-cache.js';
import { hashToken, newToken } from '../auth/tokens.js';
import { DEFAULT_TOKEN_LIFETIME, type Viewer } from '../auth/viewer.js';
import type { TokenLifetime, UserRepository } from '../db/repositories/users.js';
import type { UserRow } from '../db/schema.js';
import { rateLimited, unauthenticated } from '../errors.js';
import { requireUser } from './guards.js';

export type SessionDeps = {
  users: UserRepository;
  tokens?: TokenCache;
  /** Failed-login limits; default: in memory, DEFAULT_LOGIN_LIMITS. */
  throttle?: LoginThrottle;
  /** Expired tokens of a user are deleted when they log in. Default DEFAULT_TOKEN_LIFETIME. */
  lifetime?: TokenLifetime;
};

export type SessionService = {
  login(username: string, password: string): Promise<{ token: string; user: UserRow }>;
  logout(viewer: Viewer | null): Promise<boolean>;
  /** The same service for one request, whose client address the login throttle counts by. */
  forClient(address: string | undefined): SessionService;
};

export function createSessionService(deps: SessionDeps): SessionService {
  const { users } = deps;
  const throttle = deps.throttle ?? new LoginThrottle();
  const lifetime = deps.lifetime ?? DEFAULT_TOKEN_LIFETIME;

  async function login(username: string, password: string, address: string | undefined) {
    const attempt = await throttle.attempt(username, address);
    if (!attempt.ok) throw rateLimited(attempt.retryAfterSeconds);
    const user = username.length <= 100 ? await users.userByUsername(username) : undefined;
    // Verify against a dummy hash for unknown names, so timing does not reveal which names exist.
    const ok = await verifyPassword(password.slice(0, 1024), user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) throw unauthenticated('wrong username or password');
    await attempt.succeeded();
    await users.deleteExpiredTokens(user.id, lifetime);
    const token = newToken();
    await users.insertToken(user.id, hashToken(token));
    return { token, user };
  }

  async function logout(viewer: Viewer | null): Promise<boolean> {
    const v = requireUser(viewer);
    // Delete first, then evict (here, then on every other instance): evicting first would let a
    // request that reads the token meanwhile put it back into the token cache.
    const deleted = await users.deleteToken(v.tokenHash);
    await deps.tokens?.revoke(v.tokenHash);
    return deleted;
  }

  const bound = (address: string | undefined): SessionService => ({
    login: (username, password) => login(username, password, address),
    logout,
    forClient: bound,
  });
  return bound(undefined);
}
