/** Users, their API tokens and their collections. */
import { asc, desc, eq, inArray } from 'drizzle-orm';
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
import { childIds, tableOperations } from './table-operations.js';

export function userRepository(db: Db) {
  return {
    /** Users by id without their secrets: what the loaders (and the entity cache) get. */
    publicUsersByIds: async (ids: readonly number[]): Promise<PublicUserRow[]> =>
      db
        .select(publicUserColumns)
        .from(users)
        .where(inArray(users.id, [...ids])),
    /** The whole row, password hash included: for login to verify, never cached. */
    userByUsername: async (username: string): Promise<UserRow | undefined> =>
      (await db.select().from(users).where(eq(users.username, username)).limit(1))[0],
    /** The user a token belongs to, in one statement (no password hash: nothing to verify here). */
    userByTokenHash: async (tokenHash: string): Promise<PublicUserRow | undefined> =>
      (
        await db
          .select({ user: publicUserColumns })
          .from(apiTokens)
          .innerJoin(users, eq(users.id, apiTokens.userId))
          .where(eq(apiTokens.tokenHash, tokenHash))
          .limit(1)
      )[0]?.user,
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
