/** Login and logout: tokens are issued once and stored only hashed. */
import { DUMMY_HASH, verifyPassword } from '../auth/passwords.js';
import type { TokenCache } from '../auth/token-cache.js';
import { hashToken, newToken } from '../auth/tokens.js';
import type { Viewer } from '../auth/viewer.js';
import type { UserRepository } from '../db/repositories/users.js';
import type { UserRow } from '../db/schema.js';
import { unauthenticated } from '../errors.js';
import { requireUser } from './guards.js';

export function createSessionService(deps: { users: UserRepository; tokens?: TokenCache }) {
  const { users } = deps;
  return {
    async login(username: string, password: string): Promise<{ token: string; user: UserRow }> {
      const user = username.length <= 100 ? await users.userByUsername(username) : undefined;
      // Verify against a dummy hash for unknown names, so timing does not reveal which names exist.
      const ok = await verifyPassword(password.slice(0, 1024), user?.passwordHash ?? DUMMY_HASH);
      if (!user || !ok) throw unauthenticated('wrong username or password');
      const token = newToken();
      await users.insertToken(user.id, hashToken(token));
      return { token, user };
    },
    async logout(viewer: Viewer | null): Promise<boolean> {
      const v = requireUser(viewer);
      deps.tokens?.forget(v.tokenHash);
      return users.deleteToken(v.tokenHash);
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
