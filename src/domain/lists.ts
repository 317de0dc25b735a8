/**
 * The names of the catalogue's lists. A list's name is the response-cache tag of every answer that
 * shows it and the entity-cache group of its cached pages and counts, so one name in the
 * invalidation table (src/invalidation/table.ts) drops the list at both levels. A filtered list
 * takes its most selective membership: a kit that enters or leaves `kits(clubId: A, type: HOME)`
 * has club A before or after the write, so dropping `Kit.club:A` covers it.
 */

export type KitListFilter = { clubId?: unknown; seasonId?: unknown; brandId?: unknown; type?: unknown };
export type ClubListFilter = { search?: unknown; country?: unknown };

const present = (v: unknown) => v !== undefined && v !== null && v !== '';
/** Countries are matched without case or surrounding space (the repository's `lower(country)`). */
export const countryKey = (v: unknown) => String(v).trim().toLowerCase();

/** The one name of a kit list (`kits(…)`, `Club.kits`, …): its most selective membership filter. */
export function kitListName(filter: KitListFilter): string {
  if (present(filter.clubId)) return `Kit.club:${filter.clubId}`;
  if (present(filter.seasonId)) return `Kit.season:${filter.seasonId}`;
  if (present(filter.brandId)) return `Kit.brand:${filter.brandId}`;
  if (present(filter.type)) return `Kit.type:${filter.type}`;
  return 'Kit.list';
}

/** The one name of a club list (`clubs(…)`): a search may match any club; a country its clubs. */
export function clubListName(filter: ClubListFilter): string {
  if (present(filter.search)) return 'Club.search';
  if (present(filter.country)) return `Club.country:${countryKey(filter.country)}`;
  return 'Club.list';
}

/** The unfiltered lists of the small types (`seasons`, `brands`, `competitions`). */
export const ALL_LISTS = { Season: 'Season.list', Brand: 'Brand.list', Competition: 'Competition.list' } as const;

/** Every name the three functions above can give, by its fixed part. */
const LIST_NAMES =
  /^(?:Kit\.(?:list$|club:|season:|brand:|type:)|Club\.(?:list$|search$|country:)|(?:Season|Brand|Competition)\.list$)/;

/**
 * Whether a tag names a list whose pages the entity cache may hold: a write that drops such a tag
 * also voids that group. Derived from the tag alone, so an invalidation replayed from its durable
 * record (which keeps the tags) voids the same groups.
 */
export const isListName = (tag: string): boolean => LIST_NAMES.test(tag);
