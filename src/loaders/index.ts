/**
 * Per-request DataLoaders: one per entity (by id) and one per one-to-many relation (parent id →
 * child ids). Built fresh for every request, so nothing leaks between viewers and a mutation's
 * answer never reads an earlier request's memo. Each batch goes through the entity cache, which
 * calls the repository for its misses only.
 */
import DataLoader from 'dataloader';
import type { EntityCache, EntityFetch } from '../cache/entity/entity-cache.js';
import type { CatalogueRepository, KitFilter } from '../db/repositories/catalogue.js';
import type { UserRepository } from '../db/repositories/users.js';
import type {
  BrandRow,
  ClubRow,
  CollectionItemRow,
  CompetitionRow,
  KitRow,
  PublicUserRow,
  SeasonRow,
} from '../db/schema.js';
import type { Namespace } from '../domain/registry.js';

export type Repositories = { catalogue: CatalogueRepository; users: UserRepository };

const byId = <R extends { id: number }>(rows: R[]) => new Map(rows.map((r) => [r.id, r]));

function groupIds(rows: { parent: number; id: number }[]): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const { parent, id } of rows) {
    const list = map.get(parent);
    if (list) list.push(id);
    else map.set(parent, [id]);
  }
  return map;
}

/** A relation list: parents with no children get `[]`, which is a value, not an absence. */
const relationFetch =
  (query: (ids: readonly number[]) => Promise<{ parent: number; id: number }[]>): EntityFetch<number[]> =>
  async (ids) => {
    const grouped = groupIds(await query(ids));
    return new Map(ids.map((id) => [id, grouped.get(id) ?? []]));
  };

export function createLoaders(repos: Repositories, cache: EntityCache<Namespace>) {
  const { catalogue, users } = repos;
  const entity = <V>(namespace: Namespace, fetch: EntityFetch<V>) =>
    new DataLoader<number, V | null>((ids) => cache.readThrough(namespace, ids, fetch));

  const competition = entity<CompetitionRow>('Competition', async (ids) =>
    byId(await catalogue.competitions.byIds(ids)),
  );

  return {
    club: entity<ClubRow>('Club', async (ids) => byId(await catalogue.clubs.byIds(ids))),
    season: entity<SeasonRow>('Season', async (ids) => byId(await catalogue.seasons.byIds(ids))),
    brand: entity<BrandRow>('Brand', async (ids) => byId(await catalogue.brands.byIds(ids))),
    competition,
    kit: entity<KitRow>('Kit', async (ids) => byId(await catalogue.kits.byIds(ids))),
    // The public projection only: what is cached here is shared across requests and servers, so
    // it never holds the password hash.
    user: entity<PublicUserRow>('User', async (ids) => byId(await users.publicUsersByIds(ids))),
    collectionItem: entity<CollectionItemRow>('CollectionItem', async (ids) =>
      byId(await users.collectionItems.byIds(ids)),
    ),

    kitIdsByClub: entity('Club.kitIds', relationFetch(catalogue.kitIdsByClubs)),
    kitIdsBySeason: entity('Season.kitIds', relationFetch(catalogue.kitIdsBySeasons)),
    kitIdsByBrand: entity('Brand.kitIds', relationFetch(catalogue.kitIdsByBrands)),
    kitIdsByCompetition: entity('Competition.kitIds', relationFetch(catalogue.kitIdsByCompetitions)),
    seasonIdsByClub: entity('Club.seasonIds', relationFetch(catalogue.seasonIdsByClubs)),
    collectionItemIdsByUser: entity('User.collectionItemIds', relationFetch(users.collectionItemIdsByUsers)),
    // Without a shared cache, one statement brings the competitions with their ids, so
    // `Kit.competitions` costs one SQL statement per batch, not two (the rows prime this request's
    // loader). With one, ids and rows are cached apart, each filled under its own lease: rows read
    // by a neighbour's statement must not be written back unguarded.
    competitionIdsByKit: entity<number[]>(
      'Kit.competitionIds',
      cache.shared
        ? relationFetch(catalogue.competitionIdsByKits)
        : async (ids) => {
            const rows = await catalogue.competitionsByKits(ids);
            for (const { competition: c } of rows) competition.prime(c.id, c);
            const grouped = groupIds(rows.map((r) => ({ parent: r.parent, id: r.competition.id })));
            return new Map(ids.map((id) => [id, grouped.get(id) ?? []]));
          },
    ),

    /** Counts for filtered kit lists, batched by filter. */
    kitCount: new DataLoader<KitFilter, number, string>(
      (filters) => Promise.all(filters.map((f) => catalogue.countKits(f))),
      { cacheKeyFn: (f) => JSON.stringify([f.clubId, f.seasonId, f.brandId, f.type]) },
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
