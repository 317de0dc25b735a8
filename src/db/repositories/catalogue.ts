/**
 * Reads and writes of the public catalogue: clubs, seasons, brands, competitions, kits. The only
 * module (with its siblings) that builds SQL. Batch reads take many keys and answer in one statement,
 * so the loaders above can keep a nested query to one statement per entity type.
 */
import { and, asc, count, eq, gt, or, sql, type SQL } from 'drizzle-orm';
import type { Db, Tx } from '../client.js';
import {
  brands,
  clubs,
  collectionItems,
  competitions,
  kitCompetitions,
  kits,
  seasons,
  type BrandRow,
  type ClubRow,
  type CompetitionRow,
  type KitRow,
  type KitTypeValue,
  type SeasonRow,
} from '../schema.js';
import { prebuild, runIn } from './prebuilt.js';
import { anyOf, childIds, childIdsOf, idList, perShape, tableOperations } from './table-operations.js';

export type KitFilter = {
  clubId?: number | undefined;
  seasonId?: number | undefined;
  brandId?: number | undefined;
  type?: KitTypeValue | undefined;
};

export type ClubFilter = { search?: string | undefined; country?: string | undefined };

/** Escapes LIKE wildcards so user text matches literally. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

const $ = sql.placeholder;

/** A kit list's filter and where it starts, as one prepared statement's shape and values. */
type KitPage = { filter: KitFilter; afterId: number | null };
const kitShape = ({ filter: f, afterId }: KitPage) =>
  `${+(f.clubId !== undefined)}${+(f.seasonId !== undefined)}${+(f.brandId !== undefined)}${+(f.type !== undefined)}${+(afterId !== null)}`;
const kitValues = ({ filter: f, afterId }: KitPage) => ({
  clubId: f.clubId,
  seasonId: f.seasonId,
  brandId: f.brandId,
  type: f.type,
  afterId,
});

/** The conditions of a kit list, with placeholders for the parts set in `page` (its shape). */
function kitWhere({ filter, afterId }: KitPage): SQL | undefined {
  const parts: SQL[] = [];
  if (filter.clubId !== undefined) parts.push(eq(kits.clubId, $('clubId')));
  if (filter.seasonId !== undefined) parts.push(eq(kits.seasonId, $('seasonId')));
  if (filter.brandId !== undefined) parts.push(eq(kits.brandId, $('brandId')));
  if (filter.type !== undefined) parts.push(eq(kits.type, $('type')));
  if (afterId !== null) parts.push(gt(kits.id, $('afterId')));
  return parts.length ? and(...parts) : undefined;
}

type ClubPage = { filter: ClubFilter; after: { name: string; id: number } | null };
const clubShape = ({ filter: f, after }: ClubPage) => `${+!!f.search}${+!!f.country}${+(after !== null)}`;
const clubValues = ({ filter: f, after }: ClubPage) => ({
  pattern: f.search ? likePattern(f.search) : undefined,
  country: f.country,
  afterName: after?.name,
  afterId: after?.id,
});

/** The conditions of a club list, with placeholders for the parts set in `page` (its shape). */
function clubWhere({ filter, after }: ClubPage): SQL | undefined {
  const parts: SQL[] = [];
  if (filter.search) parts.push(sql`${clubs.name} ilike ${$('pattern')}`);
  if (filter.country) parts.push(sql`lower(${clubs.country}) = lower(${$('country')})`);
  if (after)
    parts.push(or(gt(clubs.name, $('afterName')), and(eq(clubs.name, $('afterName')), gt(clubs.id, $('afterId'))))!);
  return parts.length ? and(...parts) : undefined;
}

export type SearchHit = { type: 'Club' | 'Kit' | 'Brand' | 'Competition'; id: number };

export function catalogueRepository(db: Db) {
  const kitRows = tableOperations(db, kits);
  // Built once, prepared (see table-operations.ts); the lists once per shape of their filter.
  const kitPages = perShape(kitShape, (page: KitPage, shape) =>
    db.select().from(kits).where(kitWhere(page)).orderBy(asc(kits.id)).limit($('limit')).prepare(`kits_${shape}`),
  );
  const kitCounts = perShape(kitShape, (page: KitPage, shape) =>
    db.select({ n: count() }).from(kits).where(kitWhere(page)).prepare(`kit_count_${shape}`),
  );
  const clubPages = perShape(clubShape, (page: ClubPage, shape) =>
    db
      .select()
      .from(clubs)
      .where(clubWhere(page))
      .orderBy(asc(clubs.name), asc(clubs.id))
      .limit($('limit'))
      .prepare(`clubs_${shape}`),
  );
  const clubCounts = perShape(clubShape, (page: ClubPage, shape) =>
    db.select({ n: count() }).from(clubs).where(clubWhere(page)).prepare(`club_count_${shape}`),
  );
  const seasonsInOrder = db
    .select()
    .from(seasons)
    .orderBy(sql`${seasons.startYear} desc`, asc(seasons.id))
    .prepare('seasons_all');
  const brandsInOrder = db.select().from(brands).orderBy(asc(brands.name), asc(brands.id)).prepare('brands_all');
  const competitionsInOrder = db
    .select()
    .from(competitions)
    .orderBy(asc(competitions.name), asc(competitions.id))
    .prepare('competitions_all');
  const seasonIdsOfClubs = db
    .selectDistinct({ parent: kits.clubId, id: kits.seasonId })
    .from(kits)
    .where(anyOf(kits.clubId))
    .prepare('season_ids_by_clubs');
  const competitionsOfKits = db
    .select({ parent: kitCompetitions.kitId, competition: competitions })
    .from(kitCompetitions)
    .innerJoin(competitions, eq(competitions.id, kitCompetitions.competitionId))
    .where(anyOf(kitCompetitions.kitId))
    .orderBy(asc(competitions.name), asc(competitions.id))
    .prepare('competitions_by_kits');
  // Inside a write's transaction: built once (prebuilt.ts).
  const existingIn = (t: typeof clubs | typeof seasons | typeof brands | typeof competitions, name: string) =>
    prebuild(db.select({ id: t.id }).from(t).where(anyOf(t.id)), `${name}_existing`, { id: t.id });
  const existing = {
    clubs: existingIn(clubs, 'clubs'),
    seasons: existingIn(seasons, 'seasons'),
    brands: existingIn(brands, 'brands'),
    competitions: existingIn(competitions, 'competitions'),
  };
  return {
    clubs: tableOperations(db, clubs),
    seasons: tableOperations(db, seasons),
    brands: tableOperations(db, brands),
    competitions: tableOperations(db, competitions),
    /** A kit's update also stamps `updatedAt`. */
    kits: {
      ...kitRows,
      update: (tx, id, values) => kitRows.update(tx, id, { ...values, updatedAt: new Date() }),
      lockAndUpdate: (tx, id, values) => kitRows.lockAndUpdate(tx, id, { ...values, updatedAt: new Date() }),
    } satisfies typeof kitRows,

    allSeasons: (): Promise<SeasonRow[]> => seasonsInOrder.execute(),
    allBrands: (): Promise<BrandRow[]> => brandsInOrder.execute(),
    allCompetitions: (): Promise<CompetitionRow[]> => competitionsInOrder.execute(),

    /** Clubs by name then id; `after` is the (name, id) of the last club seen. */
    listClubs: (filter: ClubFilter, after: { name: string; id: number } | null, limit: number): Promise<ClubRow[]> => {
      const page = { filter, after };
      return clubPages(page).execute({ ...clubValues(page), limit });
    },
    countClubs: async (filter: ClubFilter): Promise<number> => {
      const page = { filter, after: null };
      const [row] = await clubCounts(page).execute(clubValues(page));
      return row?.n ?? 0;
    },

    /** Kits by id (keyset pagination); `afterId` is the last id seen. */
    listKits: (filter: KitFilter, afterId: number | null, limit: number): Promise<KitRow[]> => {
      const page = { filter, afterId };
      return kitPages(page).execute({ ...kitValues(page), limit });
    },
    countKits: async (filter: KitFilter): Promise<number> => {
      const page = { filter, afterId: null };
      const [row] = await kitCounts(page).execute(kitValues(page));
      return row?.n ?? 0;
    },

    /** Kit ids per parent, ascending: the one-to-many relation lists the loaders page over. */
    kitIdsByClubs: childIds(db, kits, kits.clubId, kits.id),
    kitIdsBySeasons: childIds(db, kits, kits.seasonId, kits.id),
    kitIdsByBrands: childIds(db, kits, kits.brandId, kits.id),
    kitIdsByCompetitions: childIds(db, kitCompetitions, kitCompetitions.competitionId, kitCompetitions.kitId),
    /** Seasons a club has kits in. */
    seasonIdsByClubs: (ids: readonly number[]) => seasonIdsOfClubs.execute({ ids: idList(ids) }),
    competitionIdsByKits: childIds(db, kitCompetitions, kitCompetitions.kitId, kitCompetitions.competitionId, null),
    /** Competitions of each kit with their rows, in one statement (the loader primes the by-id cache). */
    competitionsByKits: (ids: readonly number[]) => competitionsOfKits.execute({ ids: idList(ids) }),

    /**
     * Case-insensitive substring search over four types in one statement, served by the trigram
     * indexes. Exact matches first, then prefixes, then shorter names.
     */
    search: async (text: string, limit: number): Promise<SearchHit[]> => {
      const pattern = likePattern(text);
      const prefix = `${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const part = (
        type: string,
        order: number,
        table: typeof clubs | typeof kits | typeof brands | typeof competitions,
      ) =>
        sql`(select ${type}::text as type, ${order}::int as type_order, id, name,
               case when lower(name) = lower(${text}) then 0 when name ilike ${prefix} then 1 else 2 end as rank
             from ${table} where name ilike ${pattern}
             order by rank, length(name), id limit ${limit})`;
      const result = await db.execute<{ type: SearchHit['type']; id: number }>(sql`
        select type, id from (
          ${part('Club', 0, clubs)} union all ${part('Brand', 1, brands)}
          union all ${part('Competition', 2, competitions)} union all ${part('Kit', 3, kits)}
        ) hits order by rank, type_order, length(name), id limit ${limit}`);
      const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as {
        type: SearchHit['type'];
        id: number | string;
      }[];
      return rows.map((r) => ({ type: r.type, id: Number(r.id) }));
    },

    // ----- read inside a write's transaction (the service invalidates after commit) -----
    kitIdsOfCompetition: childIdsOf(db, kitCompetitions, kitCompetitions.competitionId, kitCompetitions.kitId),
    competitionIdsOfKit: childIdsOf(db, kitCompetitions, kitCompetitions.kitId, kitCompetitions.competitionId),
    setKitCompetitions: async (tx: Tx, kitId: number, competitionIds: readonly number[]): Promise<void> => {
      await tx
        .delete(kitCompetitions)
        .where(eq(kitCompetitions.kitId, kitId))
        .prepare('kit_competitions_delete')
        .execute();
      if (competitionIds.length)
        await tx.insert(kitCompetitions).values(competitionIds.map((competitionId) => ({ kitId, competitionId })));
    },
    existingIds: async (tx: Tx, table: 'clubs' | 'seasons' | 'brands' | 'competitions', ids: readonly number[]) =>
      new Set((await runIn(tx, existing[table], { ids: idList(ids) })).map((r) => r.id)),
    kitCountOf: async (tx: Tx, column: 'clubId' | 'seasonId' | 'brandId', id: number): Promise<number> => {
      const [row] = await tx.select({ n: count() }).from(kits).where(eq(kits[column], id));
      return row?.n ?? 0;
    },
    /** Users whose collections hold a kit (a kit's deletion empties their collection entries). */
    collectorsOfKit: async (tx: Tx, kitId: number): Promise<number[]> =>
      (
        await tx
          .selectDistinct({ id: collectionItems.userId })
          .from(collectionItems)
          .where(eq(collectionItems.kitId, kitId))
      ).map((r) => r.id),
  };
}

export type CatalogueRepository = ReturnType<typeof catalogueRepository>;
