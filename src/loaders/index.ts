/**
 * Per-request DataLoaders: one per entity (by id) and one per one-to-many relation (parent id →
 * child ids). Built fresh for every request, so nothing leaks between viewers and a mutation's
 * answer never reads an earlier request's memo. Each batch goes through the entity cache, which
 * calls the repository for its misses only; what the process's layer holds is answered without a
 * batch or a promise (`get`, cached-loader.ts).
 */
import DataLoader from 'dataloader';
import type { EntityCache, EntityFetch } from '../cache/entity/entity-cache.js';
import type { CatalogueRepository, ClubFilter, KitFilter } from '../db/repositories/catalogue.js';
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
import { ALL_LISTS, clubListName, kitListName } from '../domain/lists.js';
import type { ListValue, Namespace } from '../domain/registry.js';
import { CachedLoader } from './cached-loader.js';

export type Repositories = { catalogue: CatalogueRepository; users: UserRepository };

/** A keyset page's request: up to `limit` ids after the cursor (callers ask one more than they show). */
export type KitPage = { filter: KitFilter; afterId: number | null; limit: number };
export type ClubPage = { filter: ClubFilter; after: { name: string; id: number } | null; limit: number };

const kitFilterKey = (f: KitFilter) =>
  JSON.stringify([f.clubId ?? null, f.seasonId ?? null, f.brandId ?? null, f.type ?? null]);
const clubFilterKey = (f: ClubFilter) => JSON.stringify([f.search ?? null, f.country ?? null]);

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

/**
 * How each loader is built, made once per server: the batch functions close over the repositories
 * and the cache only, so a request pays for the loaders it uses, not for all twenty (about 13 KB of
 * objects per execution, most never touched: a kit's page uses four).
 */
function loaderMakers(repos: Repositories, cache: EntityCache<Namespace>) {
  const { catalogue, users } = repos;
  const entity =
    <V>(namespace: Namespace, fetch: EntityFetch<V>) =>
    () =>
      new CachedLoader<V>(
        (ids) => cache.readThrough(namespace, ids, fetch),
        (id) => cache.peek<V>(namespace, id),
      );

  /**
   * A list's values (pages of ids, counts), cached as a group under the list's name, so a write that
   * changes the list voids all of them at once. One DataLoader per kind: a request reads each value
   * once, and its batch reads each list's group in one round trip.
   */
  const listValue =
    <K, V>(namespace: ListValue, listOf: (k: K) => string, keyOf: (k: K) => string, fetch: (k: K) => Promise<V>) =>
    () =>
      new DataLoader<K, V | null, string>(
        async (items) => {
          const byList = new Map<string, Map<string, K>>();
          for (const item of items) {
            const list = listOf(item);
            const group = byList.get(list) ?? new Map<string, K>();
            byList.set(list, group.set(keyOf(item), item));
          }
          const answers = new Map<string, V | null>();
          await Promise.all(
            [...byList].map(async ([list, group]) => {
              const keys = [...group.keys()];
              const values = await cache.readGroup<V>(namespace, list, keys, async (misses) => {
                const found = await Promise.all(misses.map((key) => fetch(group.get(key)!)));
                return new Map(misses.map((key, i) => [key, found[i]!]));
              });
              keys.forEach((key, i) => answers.set(`${list}\n${key}`, values[i] ?? null));
            }),
          );
          return items.map((item) => answers.get(`${listOf(item)}\n${keyOf(item)}`) ?? null);
        },
        { cacheKeyFn: (item) => `${listOf(item)}\n${keyOf(item)}` },
      );

  /**
   * A list's ids, from the rows its statement brought. Without a shared cache the rows prime this
   * request's loader (one statement, not two). With one they do not: the loader reads them through
   * the cache, which fills them under its own leases (rows read by this statement must not be
   * written back unguarded), so the next request finds page and rows both.
   */
  const idsOf = <R extends { id: number }>(loader: () => DataLoader<number, R | null>, rows: R[]) => {
    if (!cache.shared) for (const row of rows) loader().prime(row.id, row);
    return rows.map((row) => row.id);
  };

  /** The short list of a small type (all its ids, in its order), its rows priming the request's loader. */
  const allIds =
    <R extends { id: number }>(
      type: keyof typeof ALL_LISTS,
      rows: () => Promise<R[]>,
      loader: (self: Loaders) => DataLoader<number, R | null>,
    ) =>
    (self: Loaders): DataLoader<'all', number[] | null, string> =>
      listValue<'all', number[]>(
        `${type}.all`,
        () => ALL_LISTS[type],
        String,
        async () => idsOf(() => loader(self), await rows()),
      )();

  // Made once: the cache merges the reads of one turn that share a fetch (turn-batches.ts).
  const sharedCompetitionIds = relationFetch(catalogue.competitionIdsByKits);

  return {
    club: entity<ClubRow>('Club', async (ids) => byId(await catalogue.clubs.byIds(ids))),
    season: entity<SeasonRow>('Season', async (ids) => byId(await catalogue.seasons.byIds(ids))),
    brand: entity<BrandRow>('Brand', async (ids) => byId(await catalogue.brands.byIds(ids))),
    competition: entity<CompetitionRow>('Competition', async (ids) => byId(await catalogue.competitions.byIds(ids))),
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
    competitionIdsByKit: (self: Loaders) =>
      entity<number[]>(
        'Kit.competitionIds',
        cache.shared
          ? sharedCompetitionIds
          : async (ids) => {
              const rows = await catalogue.competitionsByKits(ids);
              for (const { competition: c } of rows) self.competition.prime(c.id, c);
              const grouped = groupIds(rows.map((r) => ({ parent: r.parent, id: r.competition.id })));
              return new Map(ids.map((id) => [id, grouped.get(id) ?? []]));
            },
      )(),

    // Top-level lists: pages of ids in keyset order, counts, and the short lists of the small types.
    kitPage: (self: Loaders) =>
      listValue<KitPage, number[]>(
        'Kit.page',
        (p) => kitListName(p.filter),
        (p) => `${kitFilterKey(p.filter)}${p.afterId ?? ''}:${p.limit}`,
        async (p) => idsOf(() => self.kit, await catalogue.listKits(p.filter, p.afterId, p.limit)),
      )(),
    kitCount: listValue<KitFilter, number>('Kit.count', kitListName, kitFilterKey, (f) => catalogue.countKits(f)),
    clubPage: (self: Loaders) =>
      listValue<ClubPage, number[]>(
        'Club.page',
        (p) => clubListName(p.filter),
        (p) => JSON.stringify([clubFilterKey(p.filter), p.after?.name ?? null, p.after?.id ?? null, p.limit]),
        async (p) => idsOf(() => self.club, await catalogue.listClubs(p.filter, p.after, p.limit)),
      )(),
    clubCount: listValue<ClubFilter, number>('Club.count', clubListName, clubFilterKey, (f) => catalogue.countClubs(f)),
    allSeasonIds: allIds(
      'Season',
      () => catalogue.allSeasons(),
      (self): DataLoader<number, SeasonRow | null> => self.season,
    ),
    allBrandIds: allIds(
      'Brand',
      () => catalogue.allBrands(),
      (self): DataLoader<number, BrandRow | null> => self.brand,
    ),
    allCompetitionIds: allIds(
      'Competition',
      () => catalogue.allCompetitions(),
      (self): DataLoader<number, CompetitionRow | null> => self.competition,
    ),
  };
}

type Makers = ReturnType<typeof loaderMakers>;
type Loader<K extends keyof Makers> = ReturnType<Makers[K]>;

/**
 * One request's loaders, each built on first use and kept for the rest of the request. Every field
 * exists from the start (so every request's object has one shape), and a getter per loader keeps
 * the type of each.
 */
export class Loaders {
  #club?: Loader<'club'>;
  #season?: Loader<'season'>;
  #brand?: Loader<'brand'>;
  #competition?: Loader<'competition'>;
  #kit?: Loader<'kit'>;
  #user?: Loader<'user'>;
  #collectionItem?: Loader<'collectionItem'>;
  #kitIdsByClub?: Loader<'kitIdsByClub'>;
  #kitIdsBySeason?: Loader<'kitIdsBySeason'>;
  #kitIdsByBrand?: Loader<'kitIdsByBrand'>;
  #kitIdsByCompetition?: Loader<'kitIdsByCompetition'>;
  #seasonIdsByClub?: Loader<'seasonIdsByClub'>;
  #collectionItemIdsByUser?: Loader<'collectionItemIdsByUser'>;
  #competitionIdsByKit?: Loader<'competitionIdsByKit'>;
  #kitPage?: Loader<'kitPage'>;
  #kitCount?: Loader<'kitCount'>;
  #clubPage?: Loader<'clubPage'>;
  #clubCount?: Loader<'clubCount'>;
  #allSeasonIds?: Loader<'allSeasonIds'>;
  #allBrandIds?: Loader<'allBrandIds'>;
  #allCompetitionIds?: Loader<'allCompetitionIds'>;

  constructor(private readonly make: Makers) {}

  get club() {
    return (this.#club ??= this.make.club());
  }
  get season() {
    return (this.#season ??= this.make.season());
  }
  get brand() {
    return (this.#brand ??= this.make.brand());
  }
  get competition() {
    return (this.#competition ??= this.make.competition());
  }
  get kit() {
    return (this.#kit ??= this.make.kit());
  }
  get user() {
    return (this.#user ??= this.make.user());
  }
  get collectionItem() {
    return (this.#collectionItem ??= this.make.collectionItem());
  }
  get kitIdsByClub() {
    return (this.#kitIdsByClub ??= this.make.kitIdsByClub());
  }
  get kitIdsBySeason() {
    return (this.#kitIdsBySeason ??= this.make.kitIdsBySeason());
  }
  get kitIdsByBrand() {
    return (this.#kitIdsByBrand ??= this.make.kitIdsByBrand());
  }
  get kitIdsByCompetition() {
    return (this.#kitIdsByCompetition ??= this.make.kitIdsByCompetition());
  }
  get seasonIdsByClub() {
    return (this.#seasonIdsByClub ??= this.make.seasonIdsByClub());
  }
  get collectionItemIdsByUser() {
    return (this.#collectionItemIdsByUser ??= this.make.collectionItemIdsByUser());
  }
  get competitionIdsByKit() {
    return (this.#competitionIdsByKit ??= this.make.competitionIdsByKit(this));
  }
  get kitPage() {
    return (this.#kitPage ??= this.make.kitPage(this));
  }
  get kitCount() {
    return (this.#kitCount ??= this.make.kitCount());
  }
  get clubPage() {
    return (this.#clubPage ??= this.make.clubPage(this));
  }
  get clubCount() {
    return (this.#clubCount ??= this.make.clubCount());
  }
  get allSeasonIds() {
    return (this.#allSeasonIds ??= this.make.allSeasonIds(this));
  }
  get allBrandIds() {
    return (this.#allBrandIds ??= this.make.allBrandIds(this));
  }
  get allCompetitionIds() {
    return (this.#allCompetitionIds ??= this.make.allCompetitionIds(this));
  }
}

/** Made once per server: each call is one request's fresh loaders. */
export function loaderFactory(repos: Repositories, cache: EntityCache<Namespace>): () => Loaders {
  const make = loaderMakers(repos, cache);
  return () => new Loaders(make);
}
