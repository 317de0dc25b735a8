/**
 * The domain's one list of what the caches hold: entity types (rows by id) and relations (a parent's
 * child-id list), with their entity-cache TTL defaults and whether an admin may purge them by id.
 * Loaders, invalidation, cache administration, configuration and the CLI all take their names from
 * here, so a typo is a type error rather than an invalidation that silently drops nothing.
 */

/** Entity types, with the TTL (seconds) of their rows in the entity cache. */
export const ENTITY_TYPES = {
  Club: { ttlSeconds: 600 },
  Season: { ttlSeconds: 3600 },
  Brand: { ttlSeconds: 3600 },
  Competition: { ttlSeconds: 3600 },
  Kit: { ttlSeconds: 600 },
  User: { ttlSeconds: 300 },
  CollectionItem: { ttlSeconds: 300 },
} as const satisfies Record<string, { ttlSeconds: number }>;

export type EntityType = keyof typeof ENTITY_TYPES;

/** Relations: `Parent.childIds`, a parent's child ids in ascending order; they live as long as the parent type. */
export const RELATIONS = [
  'Club.kitIds',
  'Club.seasonIds',
  'Season.kitIds',
  'Brand.kitIds',
  'Competition.kitIds',
  'Kit.competitionIds',
  'User.collectionItemIds',
] as const satisfies readonly `${EntityType}.${string}`[];

export type Relation = (typeof RELATIONS)[number];

/**
 * List values: a top-level list's pages (`limit + 1` ids after a cursor) and counts, cached as
 * groups under the list's name (src/domain/lists.ts); they live as long as the listed type's rows.
 */
export const LIST_VALUES = [
  'Kit.page',
  'Kit.count',
  'Club.page',
  'Club.count',
  'Season.all',
  'Brand.all',
  'Competition.all',
] as const satisfies readonly `${EntityType}.${string}`[];

export type ListValue = (typeof LIST_VALUES)[number];

/** What the entity cache keys values by: an entity type, a relation, or a list value. */
export type Namespace = EntityType | Relation | ListValue;

/** A key of the entity cache, in domain terms. */
export type DomainKey = { namespace: Namespace; id: number };

export const entityTypeNames = Object.keys(ENTITY_TYPES) as EntityType[];
export const NAMESPACES: readonly Namespace[] = [...entityTypeNames, ...RELATIONS, ...LIST_VALUES];

/** Every entity type can be purged by id (rows and every response showing them). */
export const PURGEABLE_TYPES: readonly EntityType[] = entityTypeNames;

export const isNamespace = (name: string): name is Namespace => (NAMESPACES as readonly string[]).includes(name);
export const isEntityType = (name: string): name is EntityType => Object.hasOwn(ENTITY_TYPES, name);

/** The parent type of a namespace: `Club.kitIds` → `Club`. */
export const typeOf = (namespace: Namespace): EntityType => namespace.split('.')[0] as EntityType;

/**
 * Entity-cache TTL of a namespace in ms: an override for the exact namespace, else for its type
 * (`ENTITY_TTL_SECONDS=Kit=300,Club.kitIds=120`), else the type's default.
 */
export function entityTtlMs(overrides: Partial<Record<Namespace, number>>) {
  return (namespace: Namespace): number =>
    (overrides[namespace] ?? overrides[typeOf(namespace)] ?? ENTITY_TYPES[typeOf(namespace)].ttlSeconds) * 1000;
}
