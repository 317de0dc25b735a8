/**
 * Top-level lists and search: the reads that are not "by id" or "children of a parent". They page in
 * SQL and prime the request's loaders with the rows they bring, so nested fields do not fetch them again.
 */
import type { ClubFilter, KitFilter, SearchHit } from '../db/repositories/catalogue.js';

/** What a search finds, for the resolvers (which see no repository). */
export type { SearchHit };
import type { ClubRow, KitRow } from '../db/schema.js';
import type { Loaders, Repositories } from '../loaders/index.js';

export function createCatalogueReads(repos: Repositories, loaders: Loaders) {
  const { catalogue } = repos;
  return {
    /** `limit + 1` rows after `afterId`, so the caller can tell whether there is a next page. */
    async kits(filter: KitFilter, afterId: number | null, limit: number): Promise<KitRow[]> {
      const rows = await catalogue.listKits(filter, afterId, limit + 1);
      for (const row of rows) loaders.kit.prime(row.id, row);
      return rows;
    },
    kitCount: (filter: KitFilter) => loaders.kitCount.load(filter),
    async clubs(filter: ClubFilter, after: { name: string; id: number } | null, limit: number): Promise<ClubRow[]> {
      const rows = await catalogue.listClubs(filter, after, limit + 1);
      for (const row of rows) loaders.club.prime(row.id, row);
      return rows;
    },
    clubCount: (filter: ClubFilter) => catalogue.countClubs(filter),
    seasons: () => catalogue.allSeasons(),
    brands: () => catalogue.allBrands(),
    competitions: () => catalogue.allCompetitions(),
    search: (text: string, limit: number): Promise<SearchHit[]> => catalogue.search(text, limit),
  };
}

export type CatalogueReads = ReturnType<typeof createCatalogueReads>;
