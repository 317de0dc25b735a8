/**
 * What the caches hold about the domain, and what each write drops: the one table to read when
 * asking "is this ever stale?". The generic cache code (src/cache/) knows none of it.
 *
 * Tags on cached responses
 *   Type:id               every entity a response shows (collected by the response-cache plugin,
 *                         which adds `id` to every selection), and every by-id root field, so a
 *                         cached `kit(id: 9) → null` is dropped when kit 9 is created.
 *   Type.list             an unfiltered list of that type (`kits`, `clubs`, `brands`, …)
 *                         (list names come from src/domain/lists.ts; the entity cache keeps the
 *                         pages and counts of top-level lists under the same names, as groups)
 *   Kit.club:A, Kit.season:S, Kit.brand:B, Kit.type:T, Kit.competition:C
 *                         a kit list selected by that membership (`kits(clubId: A)`, `club(A) { kits }`,
 *                         `club(A) { seasons }`); a list filtered several ways takes the most selective.
 *   Club.country:X        `clubs(country: X)`
 *   Type.search           any search that could match a name of that type (`search`, `clubs(search:)`)
 *   CollectionItem.user:U a user's collection
 *
 * Entity-cache keys (namespace:id) are the rows and the relation id lists of src/loaders; their
 * namespaces come from the registry (src/domain/registry.ts), so a misspelt one does not compile.
 */
import type { FieldTagTable } from '../cache/response/index.js';
import type { Change, KitSnapshot } from '../domain/changes.js';
import { ALL_LISTS, clubListName, countryKey, kitListName } from '../domain/lists.js';
import type { DomainKey } from '../domain/registry.js';

/** Fields whose results are lists (or by-id lookups) and the tags they put on a cached response. */
export const fieldTags: FieldTagTable = {
  'Query.club': (_, a) => [`Club:${a.id}`],
  'Query.season': (_, a) => [`Season:${a.id}`],
  'Query.brand': (_, a) => [`Brand:${a.id}`],
  'Query.competition': (_, a) => [`Competition:${a.id}`],
  'Query.kit': (_, a) => [`Kit:${a.id}`],
  'Query.clubs': (_, a) => [clubListName(a)],
  'Query.seasons': (_, a) => [a.clubId !== undefined && a.clubId !== null ? `Kit.club:${a.clubId}` : ALL_LISTS.Season],
  'Query.brands': () => [ALL_LISTS.Brand],
  'Query.competitions': () => [ALL_LISTS.Competition],
  'Query.kits': (_, a) => [kitListName(a)],
  'Query.search': () => ['Club.search', 'Kit.search', 'Brand.search', 'Competition.search'],
  'Club.kits': (club) => [`Kit.club:${club.id}`],
  'Club.seasons': (club) => [`Kit.club:${club.id}`],
  'Season.kits': (season) => [`Kit.season:${season.id}`],
  'Brand.kits': (brand) => [`Kit.brand:${brand.id}`],
  'Competition.kits': (competition) => [`Kit.competition:${competition.id}`],
  'User.collection': (user) => [`CollectionItem.user:${user.id}`],
};

/** A kit's competitions, which a write that changes its memberships must have read. */
function competitionsOf(kit: KitSnapshot): number[] {
  if (kit.competitionIds === null)
    throw new Error(`kit ${kit.id} changed its memberships, but the write did not read its competitions`);
  return kit.competitionIds;
}

/** Every list a kit is a member of. */
function kitMemberships(kit: KitSnapshot): string[] {
  return [
    'Kit.list',
    `Kit.club:${kit.clubId}`,
    `Kit.season:${kit.seasonId}`,
    `Kit.brand:${kit.brandId}`,
    `Kit.type:${kit.type}`,
    ...competitionsOf(kit).map((c) => `Kit.competition:${c}`),
  ];
}

/**
 * Unread on both sides (null): the write could not change them, the same set. Read on one side
 * only: a write that changed them without reading them first, which counts as moved (and then
 * `competitionsOf` refuses it).
 */
const sameSet = (a: readonly number[] | null, b: readonly number[] | null) =>
  a === null || b === null ? a === b : a.length === b.length && a.every((x) => b.includes(x));

function kitMoved(before: KitSnapshot, after: KitSnapshot): boolean {
  return (
    before.clubId !== after.clubId ||
    before.seasonId !== after.seasonId ||
    before.brandId !== after.brandId ||
    before.type !== after.type ||
    !sameSet(before.competitionIds, after.competitionIds)
  );
}

export type Invalidation = { tags: string[]; keys: DomainKey[] };

/** What one committed change drops, in both cache levels. */
export function invalidationFor(change: Change): Invalidation {
  const tags: string[] = [];
  const keys: DomainKey[] = [];
  const id = (change.after ?? change.before)!.id;
  tags.push(`${change.entity}:${id}`);
  keys.push({ namespace: change.entity, id });
  const createdOrDeleted = !change.before || !change.after;

  switch (change.entity) {
    case 'Club': {
      const { before, after } = change;
      const renamed =
        before && after && (before.name !== after.name || countryKey(before.country) !== countryKey(after.country));
      if (createdOrDeleted || renamed) {
        tags.push('Club.list', 'Club.search');
        for (const c of [before?.country, after?.country]) if (c) tags.push(clubListName({ country: c }));
      }
      break;
    }
    case 'Season':
      // Seasons are listed by start year, which follows the label: any change reorders the list.
      tags.push('Season.list');
      break;
    case 'Brand':
    case 'Competition':
      if (!change.before || !change.after || change.before.name !== change.after.name)
        tags.push(`${change.entity}.list`, `${change.entity}.search`);
      if (change.entity === 'Competition') {
        tags.push(`Kit.competition:${id}`);
        keys.push({ namespace: 'Competition.kitIds', id });
        // A deleted competition leaves its kits' competition lists.
        for (const kitId of change.kitIds) keys.push({ namespace: 'Kit.competitionIds', id: kitId });
      }
      break;
    case 'Kit': {
      const { before, after } = change;
      const snapshots = [before, after].filter((k): k is KitSnapshot => k !== undefined);
      if (!before || !after || kitMoved(before, after)) {
        for (const k of snapshots) {
          tags.push(...kitMemberships(k));
          keys.push(
            { namespace: 'Club.kitIds', id: k.clubId },
            { namespace: 'Club.seasonIds', id: k.clubId },
            { namespace: 'Season.kitIds', id: k.seasonId },
            { namespace: 'Brand.kitIds', id: k.brandId },
            ...competitionsOf(k).map((c) => ({ namespace: 'Competition.kitIds' as const, id: c })),
          );
        }
        keys.push({ namespace: 'Kit.competitionIds', id });
      }
      if (!before || !after || before.name !== after.name) tags.push('Kit.search');
      for (const userId of change.collectorIds) {
        tags.push(`CollectionItem.user:${userId}`);
        keys.push({ namespace: 'User.collectionItemIds', id: userId });
      }
      break;
    }
    case 'CollectionItem': {
      const item = (change.after ?? change.before)!;
      if (createdOrDeleted) {
        tags.push(`CollectionItem.user:${item.userId}`);
        keys.push({ namespace: 'User.collectionItemIds', id: item.userId });
      }
      break;
    }
  }
  return { tags, keys };
}

export function invalidationForAll(changes: readonly Change[]): Invalidation {
  const tags = new Set<string>();
  const keys = new Map<string, DomainKey>();
  for (const change of changes) {
    const one = invalidationFor(change);
    for (const t of one.tags) tags.add(t);
    for (const k of one.keys) keys.set(`${k.namespace}:${k.id}`, k);
  }
  return { tags: [...tags], keys: [...keys.values()] };
}
