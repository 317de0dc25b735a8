/**
 * Turns a row of the change log (a trigger's picture of a row, column names as in SQL) into the
 * `Change` a mutation would have reported, so the one table (table.ts) derives keys and tags for
 * both sources. A row it cannot read (a table it does not know, a column renamed since) answers
 * `null`: the follower then drops everything rather than guess.
 */
import { z } from 'zod';
import type { LoggedChange } from '../db/repositories/change-log.js';
import { kitCondition, kitType, userRole } from '../db/schema.js';
import type { Change } from '../domain/changes.js';

const id = z.number().int();
const date = z.coerce.date();

const club = z.object({
  id,
  name: z.string(),
  slug: z.string(),
  country: z.string(),
  founded: z.number().int().nullable(),
});
const season = z.object({ id, label: z.string(), start_year: z.number().int() }).transform((s) => ({
  id: s.id,
  label: s.label,
  startYear: s.start_year,
}));
const brand = z.object({ id, name: z.string() });
const competition = z.object({ id, name: z.string(), country: z.string() });
const kit = z
  .object({
    id,
    club_id: id,
    season_id: id,
    brand_id: id,
    type: z.enum(kitType.enumValues),
    name: z.string(),
    primary_colour: z.string(),
    secondary_colours: z.array(z.string()),
    description: z.string().nullable(),
    created_at: date,
    updated_at: date,
    competition_ids: z.array(id),
  })
  .transform((k) => ({
    id: k.id,
    clubId: k.club_id,
    seasonId: k.season_id,
    brandId: k.brand_id,
    type: k.type,
    name: k.name,
    primaryColour: k.primary_colour,
    secondaryColours: k.secondary_colours,
    description: k.description,
    createdAt: k.created_at,
    updatedAt: k.updated_at,
    competitionIds: k.competition_ids,
  }));
const collectionItem = z
  .object({
    id,
    user_id: id,
    kit_id: id,
    condition: z.enum(kitCondition.enumValues),
    note: z.string().nullable(),
    added_at: date,
  })
  .transform((c) => ({
    id: c.id,
    userId: c.user_id,
    kitId: c.kit_id,
    condition: c.condition,
    note: c.note,
    addedAt: c.added_at,
  }));
const user = z.object({ id, username: z.string(), role: z.enum(userRole.enumValues) });

/** Both pictures of a row, parsed with `schema`; null when one present does not parse or neither is. */
function pictures<T>(schema: z.ZodType<T>, row: LoggedChange): { before?: T; after?: T } | null {
  const out: { before?: T; after?: T } = {};
  for (const side of ['before', 'after'] as const) {
    if (row[side] === null || row[side] === undefined) continue;
    const parsed = schema.safeParse(row[side]);
    if (!parsed.success) return null;
    out[side] = parsed.data;
  }
  return out.before || out.after ? out : null;
}

/** The kits a competition entry says lost it (a kit deleted with its memberships), else none. */
const kitIdsOf = (picture: unknown): number[] => {
  const parsed = z.object({ kit_ids: z.array(id) }).safeParse(picture);
  return parsed.success ? parsed.data.kit_ids : [];
};

/** The change a logged row describes; null: it cannot be read (drop everything instead). */
export function changeOf(row: LoggedChange): Change | null {
  if (row.coarse) return null;
  switch (row.tableName) {
    case 'clubs': {
      const p = pictures(club, row);
      return p && { entity: 'Club', ...p };
    }
    case 'seasons': {
      const p = pictures(season, row);
      return p && { entity: 'Season', ...p };
    }
    case 'brands': {
      const p = pictures(brand, row);
      return p && { entity: 'Brand', ...p };
    }
    case 'competitions': {
      const p = pictures(competition, row);
      return p && { entity: 'Competition', ...p, kitIds: kitIdsOf(row.before ?? row.after) };
    }
    case 'kits': {
      // Collections that held a deleted kit lose their items by cascade: those are logged rows of their own.
      const p = pictures(kit, row);
      return p && { entity: 'Kit', ...p, collectorIds: [] };
    }
    case 'collection_items': {
      const p = pictures(collectionItem, row);
      return p && { entity: 'CollectionItem', ...p };
    }
    case 'users': {
      const p = pictures(user, row);
      return p && { entity: 'User', ...p };
    }
    default:
      return null;
  }
}
