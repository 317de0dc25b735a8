/**
 * The catalogue's tables. drizzle.config.ts points here; `npm run db:generate` writes the SQL
 * migrations under drizzle/ from this file. One schema serves Postgres and PGlite.
 */
import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  serial,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

export const kitType = pgEnum('kit_type', ['HOME', 'AWAY', 'THIRD', 'GOALKEEPER', 'SPECIAL']);
export const kitCondition = pgEnum('kit_condition', ['MINT', 'EXCELLENT', 'GOOD', 'WORN']);
export const userRole = pgEnum('user_role', ['USER', 'ADMIN']);

// Case-insensitive substring search (`ILIKE '%text%'`) is served by trigram GIN indexes (pg_trgm;
// the first migration creates the extension).

export const clubs = pgTable(
  'clubs',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    slug: text('slug').notNull(),
    country: text('country').notNull(),
    founded: integer('founded'),
  },
  (t) => [
    uniqueIndex('clubs_slug_key').on(t.slug),
    index('clubs_country_idx').on(t.country),
    index('clubs_name_id_idx').on(t.name, t.id),
    index('clubs_name_trgm_idx').using('gin', t.name.op('gin_trgm_ops')),
  ],
);

export const seasons = pgTable(
  'seasons',
  {
    id: serial('id').primaryKey(),
    label: text('label').notNull(),
    startYear: integer('start_year').notNull(),
  },
  (t) => [uniqueIndex('seasons_label_key').on(t.label), index('seasons_start_year_idx').on(t.startYear)],
);

export const brands = pgTable(
  'brands',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
  },
  (t) => [
    uniqueIndex('brands_name_key').on(t.name),
    index('brands_name_trgm_idx').using('gin', t.name.op('gin_trgm_ops')),
  ],
);

export const competitions = pgTable(
  'competitions',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    country: text('country').notNull(),
  },
  (t) => [
    index('competitions_country_idx').on(t.country),
    index('competitions_name_trgm_idx').using('gin', t.name.op('gin_trgm_ops')),
  ],
);

export const kits = pgTable(
  'kits',
  {
    id: serial('id').primaryKey(),
    clubId: integer('club_id')
      .notNull()
      .references(() => clubs.id, { onDelete: 'restrict' }),
    seasonId: integer('season_id')
      .notNull()
      .references(() => seasons.id, { onDelete: 'restrict' }),
    brandId: integer('brand_id')
      .notNull()
      .references(() => brands.id, { onDelete: 'restrict' }),
    type: kitType('type').notNull(),
    name: text('name').notNull(),
    primaryColour: text('primary_colour').notNull(),
    secondaryColours: text('secondary_colours')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    description: text('description'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    // (fk, id) pairs serve both the foreign key and keyset pagination of the filtered lists.
    index('kits_club_id_idx').on(t.clubId, t.id),
    index('kits_season_id_idx').on(t.seasonId, t.id),
    index('kits_brand_id_idx').on(t.brandId, t.id),
    index('kits_type_idx').on(t.type, t.id),
    index('kits_name_trgm_idx').using('gin', t.name.op('gin_trgm_ops')),
  ],
);

export const kitCompetitions = pgTable(
  'kit_competitions',
  {
    kitId: integer('kit_id')
      .notNull()
      .references(() => kits.id, { onDelete: 'cascade' }),
    competitionId: integer('competition_id')
      .notNull()
      .references(() => competitions.id, { onDelete: 'cascade' }),
  },
  (t) => [
    primaryKey({ columns: [t.kitId, t.competitionId] }),
    index('kit_competitions_competition_id_idx').on(t.competitionId, t.kitId),
  ],
);

export const users = pgTable(
  'users',
  {
    id: serial('id').primaryKey(),
    username: text('username').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: userRole('role').notNull().default('USER'),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_username_key').on(t.username)],
);

/**
 * What of a user may be shown and cached: the columns the SDL's `User` shows. The loaders (and so
 * the entity cache under them) and the token lookup read only these; the password hash is read
 * only by login, uncached.
 */
export const publicUserColumns = { id: users.id, username: users.username, role: users.role };

export const apiTokens = pgTable(
  'api_tokens',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    // SHA-256 of the bearer token: a leaked table does not leak usable tokens.
    tokenHash: text('token_hash').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    // Last time the token was used, kept to the minute (src/db/repositories/users.ts): the idle timeout counts from it.
    lastUsedAt: timestamp('last_used_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('api_tokens_token_hash_key').on(t.tokenHash), index('api_tokens_user_id_idx').on(t.userId)],
);

export const collectionItems = pgTable(
  'collection_items',
  {
    id: serial('id').primaryKey(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kitId: integer('kit_id')
      .notNull()
      .references(() => kits.id, { onDelete: 'cascade' }),
    condition: kitCondition('condition').notNull(),
    note: text('note'),
    addedAt: timestamp('added_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('collection_items_user_id_idx').on(t.userId, t.id), index('collection_items_kit_id_idx').on(t.kitId)],
);

/**
 * Cache invalidations not yet known to be delivered: written in the mutation's transaction, deleted
 * once applied to the shared caches. A row outlives a Redis that could not be reached, and every
 * instance applies what it finds here (src/invalidation/), so a lost invalidation is retried, never forgotten.
 */
export const cacheInvalidations = pgTable('cache_invalidations', {
  id: bigserial('id', { mode: 'number' }).primaryKey(),
  /** Response-cache tags to drop. */
  tags: text('tags').array().notNull(),
  /** Entity-cache keys to drop, as `Namespace:id`. */
  entityKeys: text('entity_keys').array().notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  /**
   * From when the other instances deliver it: its writer's own delivery has had its time by then
   * (or the writer gave up and moved this to now), so nobody applies a record its writer is still
   * applying.
   */
  dueAt: timestamp('due_at', { withTimezone: true }).notNull().defaultNow(),
});

/** A Postgres transaction id (64-bit, never wraps), as its decimal text: compared in SQL only. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

/**
 * Writes made outside the API (psql, imports, migrations, the seed, another service), captured by
 * triggers in the writing transaction (drizzle/0005_change_capture.sql) and followed by every instance
 * (src/invalidation/change-follower.ts). The API's own writes mark their transaction and are not
 * captured: they invalidate through cache_invalidations. Rows are pruned after a retention window.
 */
export const cacheChanges = pgTable(
  'cache_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** The writing transaction: followers track their position by transaction, not by id (ids commit out of order). */
    xid: xid8('xid')
      .notNull()
      .default(sql`pg_current_xact_id()`),
    /** The table written (`kits`, `clubs`, …). */
    tableName: text('table_name').notNull(),
    rowId: integer('row_id'),
    /** The row before and after (kits with `competition_ids`, users with public fields only); null: inserted / deleted. */
    before: jsonb('before'),
    after: jsonb('after'),
    /** A TRUNCATE or a statement over more rows than the threshold: drop everything cached, not row by row. */
    coarse: boolean('coarse').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true })
      .notNull()
      .default(sql`clock_timestamp()`),
  },
  (t) => [index('cache_changes_xid_idx').on(t.xid), index('cache_changes_created_at_idx').on(t.createdAt)],
);

export type ClubRow = typeof clubs.$inferSelect;
export type SeasonRow = typeof seasons.$inferSelect;
export type BrandRow = typeof brands.$inferSelect;
export type CompetitionRow = typeof competitions.$inferSelect;
export type KitRow = typeof kits.$inferSelect;
export type UserRow = typeof users.$inferSelect;
/** A user without secrets (see publicUserColumns): what `User` resolves from and the entity cache holds. */
export type PublicUserRow = Pick<UserRow, keyof typeof publicUserColumns>;
export type CollectionItemRow = typeof collectionItems.$inferSelect;
export type KitTypeValue = (typeof kitType.enumValues)[number];
export type KitConditionValue = (typeof kitCondition.enumValues)[number];
export type UserRoleValue = (typeof userRole.enumValues)[number];
