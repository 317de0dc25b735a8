/** Users, their API tokens and their collections. */
import { and, asc, desc, eq, inArray, lt, or, sql } from 'drizzle-orm';
import type { Db, Tx } from '../client.js';
import {
  apiTokens,
  collectionItems,
  publicUserColumns,
  users,
  type CollectionItemRow,
  type PublicUserRow,
  type UserRow,
} from '../schema.js';
import { anyOf, childIds, idList, tableOperations } from './table-operations.js';

const $ = sql.placeholder;

export function userRepository(db: Db) {
  // Built once, prepared (see table-operations.ts): the token lookup runs for every signed-in request.
  const publicUsers = db.select(publicUserColumns).from(users).where(anyOf(users.id)).prepare('public_users_by_ids');
  const byUsername = db
    .select()
    .from(users)
    .where(eq(users.username, $('username')))
    .limit(1)
    .prepare('user_by_username');
  const byToken = tokenLookup(db);
  return {
    /** Users by id without their secrets: what the loaders (and the entity cache) get. */
    publicUsersByIds: async (ids: readonly number[]): Promise<PublicUserRow[]> =>
      publicUsers.execute({ ids: idList(ids) }),
    /** The whole row, password hash included: for login to verify, never cached. */
    userByUsername: async (username: string): Promise<UserRow | undefined> =>
      (await byUsername.execute({ username }))[0],
    /**
     * The user a token belongs to, and whether the token is still alive, in one statement: a token
     * lives `ttlSeconds` from its creation and `idleSeconds` from its last use. A live token's
     * `last_used_at` is moved to now in the same statement, but only when it is older than
     * `touchSeconds` (a minute, less for short idle timeouts), so a busy token costs a write once a
     * minute, not once a request (the idle timeout may therefore end up to that much early). `remainingMs` is
     * how long the token stays alive if unused from now, by the database's clock.
     */
    userByTokenHash: async (tokenHash: string, lifetime: TokenLifetime): Promise<TokenLookup | undefined> => {
      const [row] = await byToken.execute({
        tokenHash,
        ttl: lifetime.ttlSeconds,
        idle: lifetime.idleSeconds,
        touch: touchSeconds(lifetime),
      });
      if (!row) return undefined;
      return row.live ? { user: row.user, remainingMs: Math.max(0, row.remainingMs) } : { expired: true };
    },
    /** Deletes the user's tokens that are past their lifetime or idle timeout (at login: the table does not grow). */
    deleteExpiredTokens: async (userId: number, lifetime: TokenLifetime): Promise<number> =>
      (
        await db
          .delete(apiTokens)
          .where(
            and(
              eq(apiTokens.userId, userId),
              or(
                lt(apiTokens.createdAt, sql`now() - make_interval(secs => ${lifetime.ttlSeconds}::integer)`),
                lt(apiTokens.lastUsedAt, sql`now() - make_interval(secs => ${lifetime.idleSeconds}::integer)`),
              ),
            ),
          )
          .returning({ id: apiTokens.id })
      ).length,
    insertToken: async (userId: number, tokenHash: string): Promise<void> => {
      await db.insert(apiTokens).values({ userId, tokenHash });
    },
    deleteToken: async (tokenHash: string): Promise<boolean> =>
      (await db.delete(apiTokens).where(eq(apiTokens.tokenHash, tokenHash)).returning({ id: apiTokens.id })).length > 0,

    /** Collection items by id, and their writes (the service runs them in its transaction). */
    collectionItems: tableOperations(db, collectionItems),
    /** Item ids per user, newest first. */
    collectionItemIdsByUsers: childIds(db, collectionItems, collectionItems.userId, collectionItems.id, desc),
    collectionItemById: async (tx: Tx, id: number): Promise<CollectionItemRow | undefined> =>
      (await tx.select().from(collectionItems).where(eq(collectionItems.id, id)).orderBy(asc(collectionItems.id)))[0],
  };
}

export type UserRepository = ReturnType<typeof userRepository>;

/** How long a token lives: from its creation, and from its last use. */
export type TokenLifetime = { ttlSeconds: number; idleSeconds: number };

/** A live token's user and how long it stays alive unused; or a token that exists but has expired. */
export type TokenLookup = { user: TokenUser; remainingMs: number } | { expired: true };

/** What a token lookup tells about its user. */
export type TokenUser = Pick<UserRow, 'id' | 'username' | 'role'>;

/** `last_used_at` is moved forward only when older than a minute (a tenth of the idle timeout when that is shorter). */
export const TOUCH_SECONDS = 60;
export const touchSeconds = (lifetime: TokenLifetime) => Math.min(TOUCH_SECONDS, lifetime.idleSeconds / 10);

/**
 * The statement behind `userByTokenHash` (its doc says what it does), prepared once: bind
 * `tokenHash`, `ttl` and `idle` (seconds, integers) and `touch` (seconds).
 */
function tokenLookup(db: Db) {
  const ttl = sql`make_interval(secs => ${$('ttl')}::integer)`;
  const idle = sql`make_interval(secs => ${$('idle')}::integer)`;
  const found = db.$with('found').as(
    db
      .select({
        id: apiTokens.id,
        userId: apiTokens.userId,
        createdAt: apiTokens.createdAt,
        lastUsedAt: apiTokens.lastUsedAt,
        live: sql<boolean>`(${apiTokens.createdAt} > now() - ${ttl} and ${apiTokens.lastUsedAt} > now() - ${idle})`.as(
          'live',
        ),
      })
      .from(apiTokens)
      .where(eq(apiTokens.tokenHash, $('tokenHash'))),
  );
  const touched = db.$with('touched').as(
    db
      .update(apiTokens)
      .set({ lastUsedAt: sql`now()` })
      .where(
        and(
          inArray(
            apiTokens.id,
            db
              .select({ id: found.id })
              .from(found)
              .where(sql`${found.live}`),
          ),
          lt(apiTokens.lastUsedAt, sql`now() - make_interval(secs => ${$('touch')}::float8)`),
        ),
      )
      .returning({ id: apiTokens.id, touchedAt: apiTokens.lastUsedAt }),
  );
  return db
    .with(found, touched)
    .select({
      // Only what a viewer is made of (never the password hash).
      user: publicUserColumns,
      live: found.live,
      remainingMs:
        sql<number>`(extract(epoch from least(${found.createdAt} + ${ttl}, greatest(${found.lastUsedAt}, ${touched.touchedAt}) + ${idle}) - now()) * 1000)::float8`.mapWith(
          Number,
        ),
    })
    .from(found)
    .innerJoin(users, eq(users.id, found.userId))
    .leftJoin(touched, eq(touched.id, found.id))
    .limit(1)
    .prepare('user_by_token_hash');
}
