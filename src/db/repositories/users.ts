/** Users, their API tokens and their collections. */
import { asc, desc, eq } from 'drizzle-orm';
import type { Db, Tx } from '../client.js';
import { apiTokens, collectionItems, users, type CollectionItemRow, type UserRow } from '../schema.js';
import { childIds, tableOperations } from './table-operations.js';

export function userRepository(db: Db) {
  return {
    usersByIds: tableOperations(db, users).byIds,
    userByUsername: async (username: string): Promise<UserRow | undefined> =>
      (await db.select().from(users).where(eq(users.username, username)).limit(1))[0],
    /** The user a token belongs to, in one statement. */
    userByTokenHash: async (tokenHash: string): Promise<UserRow | undefined> =>
      (
        await db
          .select({ user: users })
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
