/**
 * Admin writes to the catalogue. Each runs in one transaction, describes what it changed, and has
 * the caches invalidated after commit and before it answers.
 */
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import type { Db, Tx } from '../db/client.js';
import type { CatalogueRepository } from '../db/repositories/catalogue.js';
import type { KitTypeValue } from '../db/schema.js';
import { badInput, notFound } from '../errors.js';
import type { Invalidator, KitSnapshot } from '../domain/changes.js';
import { requireAdmin } from './guards.js';
import { colours, founded, optionalText, seasonLabel, slug, text, validate } from './validation.js';
import { createWriter } from './write.js';

const slugify = (s: string) =>
  s
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 100);

const clubCreate = z.object({ name: text(100), country: text(56), founded, slug: slug.nullish() });
const clubUpdate = z.object({
  name: text(100).optional(),
  country: text(56).optional(),
  founded,
  slug: slug.optional(),
});
const named = z.object({ name: text(100) });
const namedUpdate = z.object({ name: text(100).optional() });
const competitionCreate = z.object({ name: text(100), country: text(56) });
const competitionUpdate = z.object({ name: text(100).optional(), country: text(56).optional() });
const kitType = z.enum(['HOME', 'AWAY', 'THIRD', 'GOALKEEPER', 'SPECIAL']);
const kitFields = {
  name: text(200),
  primaryColour: text(30),
  secondaryColours: colours,
  description: optionalText(2000),
};
const kitCreate = z.object({
  ...kitFields,
  secondaryColours: colours.nullish().transform((c) => c ?? []),
  type: kitType,
});
const kitUpdate = z.object({
  name: kitFields.name.optional(),
  primaryColour: kitFields.primaryColour.optional(),
  secondaryColours: colours.optional(),
  description: kitFields.description.optional(),
  type: kitType.optional(),
});

/** Drops keys the client left out or sent as null where null means "leave as is". */
const defined = <T extends object>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

export type KitRefs = { clubId: number; seasonId: number; brandId: number; competitionIds: number[] };

export function createCatalogueService(deps: { db: Db; catalogue: CatalogueRepository; invalidator: Invalidator }) {
  const { catalogue: repo } = deps;
  const write = createWriter(deps);

  async function checkRefs(tx: Tx, refs: Partial<KitRefs>) {
    const checks: ['clubs' | 'seasons' | 'brands', number | undefined, string][] = [
      ['clubs', refs.clubId, 'Club'],
      ['seasons', refs.seasonId, 'Season'],
      ['brands', refs.brandId, 'Brand'],
    ];
    for (const [table, id, type] of checks) {
      if (id !== undefined && !(await repo.existingIds(tx, table, [id])).has(id)) throw notFound(type, id);
    }
    if (refs.competitionIds?.length) {
      const found = await repo.existingIds(tx, 'competitions', refs.competitionIds);
      const missing = refs.competitionIds.find((id) => !found.has(id));
      if (missing !== undefined) throw notFound('Competition', missing);
    }
  }

  /**
   * A kit write's "before" picture: the row, locked, then its competition ids, read once the lock
   * is held, so as the last writer of this kit left them. One statement with a subquery would not
   * do: when its lock waits, Postgres re-reads the locked row but not the subquery's rows. (Sent
   * one after the other: a statement queued behind another in postgres-js's transaction queue is
   * never settled if the connection drops, and the time bound would count it abandoned for good.)
   * A write that cannot change the kit's memberships reads neither (updateKit): what it drops does
   * not depend on its competitions (src/invalidation/table.ts).
   */
  async function kitSnapshot(tx: Tx, id: number): Promise<KitSnapshot | undefined> {
    const row = await repo.kits.forUpdate(tx, id);
    return row && { ...row, competitionIds: await repo.competitionIdsOfKit(tx, id) };
  }

  return {
    createClub: (viewer: Viewer | null, input: unknown) => {
      requireAdmin(viewer);
      const v = validate(clubCreate, input);
      const values = { name: v.name, country: v.country, founded: v.founded ?? null, slug: v.slug ?? slugify(v.name) };
      if (!values.slug) throw badInput('input.name must contain a letter or digit to make a slug', 'input.name');
      return write(
        async (tx) => {
          const after = await repo.clubs.insert(tx, values);
          return { result: after, changes: [{ entity: 'Club', after }] };
        },
        { unique: `a club with the slug "${values.slug}" already exists` },
      );
    },
    updateClub: (viewer: Viewer | null, id: number, input: unknown) => {
      requireAdmin(viewer);
      const v = defined(validate(clubUpdate, input));
      return write(
        async (tx) => {
          const pictures = await repo.clubs.lockAndUpdate(tx, id, v);
          if (!pictures) throw notFound('Club', id);
          return { result: pictures.after, changes: [{ entity: 'Club', ...pictures }] };
        },
        { unique: 'another club already has that slug' },
      );
    },
    deleteClub: (viewer: Viewer | null, id: number) => {
      requireAdmin(viewer);
      return write(
        async (tx) => {
          const kits = await repo.kitCountOf(tx, 'clubId', id);
          if (kits > 0) throw badInput(`Club ${id} still has ${kits} kits; delete or move them first`, 'id');
          const before = await repo.clubs.delete(tx, id);
          if (!before) throw notFound('Club', id);
          return { result: id, changes: [{ entity: 'Club', before }] };
        },
        { inUse: `Club ${id} still has kits` },
      );
    },

    createSeason: (viewer: Viewer | null, input: unknown) => {
      requireAdmin(viewer);
      const { label } = validate(z.object({ label: seasonLabel }), input);
      return write(
        async (tx) => {
          const after = await repo.seasons.insert(tx, { label, startYear: Number(label.slice(0, 4)) });
          return { result: after, changes: [{ entity: 'Season', after }] };
        },
        { unique: `the season ${label} already exists` },
      );
    },
    updateSeason: (viewer: Viewer | null, id: number, input: unknown) => {
      requireAdmin(viewer);
      const { label } = validate(z.object({ label: seasonLabel }), input);
      return write(
        async (tx) => {
          const pictures = await repo.seasons.lockAndUpdate(tx, id, { label, startYear: Number(label.slice(0, 4)) });
          if (!pictures) throw notFound('Season', id);
          return { result: pictures.after, changes: [{ entity: 'Season', ...pictures }] };
        },
        { unique: `the season ${label} already exists` },
      );
    },
    deleteSeason: (viewer: Viewer | null, id: number) => {
      requireAdmin(viewer);
      return write(
        async (tx) => {
          const kits = await repo.kitCountOf(tx, 'seasonId', id);
          if (kits > 0) throw badInput(`Season ${id} still has ${kits} kits; delete or move them first`, 'id');
          const before = await repo.seasons.delete(tx, id);
          if (!before) throw notFound('Season', id);
          return { result: id, changes: [{ entity: 'Season', before }] };
        },
        { inUse: `Season ${id} still has kits` },
      );
    },

    createBrand: (viewer: Viewer | null, input: unknown) => {
      requireAdmin(viewer);
      const v = validate(named, input);
      return write(
        async (tx) => {
          const after = await repo.brands.insert(tx, v);
          return { result: after, changes: [{ entity: 'Brand', after }] };
        },
        { unique: `a brand named "${v.name}" already exists` },
      );
    },
    updateBrand: (viewer: Viewer | null, id: number, input: unknown) => {
      requireAdmin(viewer);
      const v = defined(validate(namedUpdate, input));
      return write(
        async (tx) => {
          const pictures = await repo.brands.lockAndUpdate(tx, id, v);
          if (!pictures) throw notFound('Brand', id);
          return { result: pictures.after, changes: [{ entity: 'Brand', ...pictures }] };
        },
        { unique: 'another brand already has that name' },
      );
    },
    deleteBrand: (viewer: Viewer | null, id: number) => {
      requireAdmin(viewer);
      return write(
        async (tx) => {
          const kits = await repo.kitCountOf(tx, 'brandId', id);
          if (kits > 0) throw badInput(`Brand ${id} still has ${kits} kits; delete or move them first`, 'id');
          const before = await repo.brands.delete(tx, id);
          if (!before) throw notFound('Brand', id);
          return { result: id, changes: [{ entity: 'Brand', before }] };
        },
        { inUse: `Brand ${id} still has kits` },
      );
    },

    createCompetition: (viewer: Viewer | null, input: unknown) => {
      requireAdmin(viewer);
      const v = validate(competitionCreate, input);
      return write(async (tx) => {
        const after = await repo.competitions.insert(tx, v);
        return { result: after, changes: [{ entity: 'Competition', after, kitIds: [] }] };
      });
    },
    updateCompetition: (viewer: Viewer | null, id: number, input: unknown) => {
      requireAdmin(viewer);
      const v = defined(validate(competitionUpdate, input));
      return write(async (tx) => {
        const pictures = await repo.competitions.lockAndUpdate(tx, id, v);
        if (!pictures) throw notFound('Competition', id);
        return { result: pictures.after, changes: [{ entity: 'Competition', ...pictures, kitIds: [] }] };
      });
    },
    /** Deleting a competition takes it off its kits (they stay). */
    deleteCompetition: (viewer: Viewer | null, id: number) => {
      requireAdmin(viewer);
      return write(async (tx) => {
        const kitIds = await repo.kitIdsOfCompetition(tx, id);
        const before = await repo.competitions.delete(tx, id);
        if (!before) throw notFound('Competition', id);
        return { result: id, changes: [{ entity: 'Competition', before, kitIds }] };
      });
    },

    createKit: (viewer: Viewer | null, refs: KitRefs, input: unknown) => {
      requireAdmin(viewer);
      const v = validate(kitCreate, input);
      return write(async (tx) => {
        await checkRefs(tx, refs);
        const row = await repo.kits.insert(tx, {
          ...v,
          type: v.type as KitTypeValue,
          description: v.description ?? null,
          clubId: refs.clubId,
          seasonId: refs.seasonId,
          brandId: refs.brandId,
        });
        const competitionIds = [...new Set(refs.competitionIds)];
        await repo.setKitCompetitions(tx, row.id, competitionIds);
        const after = { ...row, competitionIds };
        return { result: row, changes: [{ entity: 'Kit', after, collectorIds: [] }] };
      });
    },
    /** Changing clubId or seasonId moves the kit; competitionIds, when given, replaces its set. */
    updateKit: (viewer: Viewer | null, id: number, refs: Partial<KitRefs>, input: unknown) => {
      requireAdmin(viewer);
      const v = defined(validate(kitUpdate, input));
      // Its club, season, brand, type or competitions: what can move it into or out of lists.
      const canMove =
        v.type !== undefined ||
        refs.clubId !== undefined ||
        refs.seasonId !== undefined ||
        refs.brandId !== undefined ||
        refs.competitionIds !== undefined;
      return write(async (tx) => {
        if (!canMove) {
          // Nothing to check first and no competitions to read: the lock and the update in one statement.
          const pictures = await repo.kits.lockAndUpdate(tx, id, v);
          if (!pictures) throw notFound('Kit', id);
          const before = { ...pictures.before, competitionIds: null };
          const after = { ...pictures.after, competitionIds: null };
          return { result: pictures.after, changes: [{ entity: 'Kit', before, after, collectorIds: [] }] };
        }
        const before = await kitSnapshot(tx, id);
        if (!before) throw notFound('Kit', id);
        await checkRefs(tx, refs);
        const { competitionIds, ...columns } = defined(refs);
        const row = (await repo.kits.update(tx, id, { ...v, ...columns }))!;
        let ids = before.competitionIds;
        if (competitionIds) {
          ids = [...new Set(competitionIds)];
          await repo.setKitCompetitions(tx, id, ids);
        }
        const after = { ...row, competitionIds: ids };
        return { result: row, changes: [{ entity: 'Kit', before, after, collectorIds: [] }] };
      });
    },
    /** Deleting a kit also takes it out of every collection that held it. */
    deleteKit: (viewer: Viewer | null, id: number) => {
      requireAdmin(viewer);
      return write(async (tx) => {
        const before = await kitSnapshot(tx, id);
        if (!before) throw notFound('Kit', id);
        const collectorIds = await repo.collectorsOfKit(tx, id);
        await repo.kits.delete(tx, id);
        return { result: id, changes: [{ entity: 'Kit', before, collectorIds }] };
      });
    },
  };
}

export type CatalogueService = ReturnType<typeof createCatalogueService>;
