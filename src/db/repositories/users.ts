/** Users, their API tokens and their collections. */
import { asc, desc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../client.js';
import {
  apiTokens,
  collectionItems,
  users,
  type CollectionItemRow,
  type KitConditionValue,
  type UserRow,
} from '../schema.js';

export function userRepository(db: Db) {
  return {
    usersByIds: (ids: readonly number[]): Promise<UserRow[]> => db.select().from(users).where(inArray(users.id, [...ids])),
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

    collectionItemsByIds: (ids: readonly number[]): Promise<CollectionItemRow[]> =>
      db.select().from(collectionItems).where(inArray(collectionItems.id, [...ids])),
    /** Item ids per user, newest first. */
    collectionItemIdsByUsers: (ids: readonly number[]) =>
      db
        .select({ parent: collectionItems.userId, id: collectionItems.id })
        .from(collectionItems)
        .where(inArray(collectionItems.userId, [...ids]))
        .orderBy(desc(collectionItems.id)),
    insertCollectionItem: async (
      tx: Db,
      values: { userId: number; kitId: number; condition: KitConditionValue; note: string | null },
    ): Promise<CollectionItemRow> => (await tx.insert(collectionItems).values(values).returning())[0]!,
    updateCollectionItem: async (
      tx: Db,
      id: number,
      values: Partial<{ condition: KitConditionValue; note: string | null }>,
    ): Promise<CollectionItemRow | undefined> =>
      (await tx.update(collectionItems).set(values).where(eq(collectionItems.id, id)).returning())[0],
    deleteCollectionItem: async (tx: Db, id: number): Promise<CollectionItemRow | undefined> =>
      (await tx.delete(collectionItems).where(eq(collectionItems.id, id)).returning())[0],
    collectionItemById: async (tx: Db, id: number): Promise<CollectionItemRow | undefined> =>
      (await tx.select().from(collectionItems).where(eq(collectionItems.id, id)).orderBy(asc(collectionItems.id)))[0],
  };
}

export type UserRepository = ReturnType<typeof userRepository>;
