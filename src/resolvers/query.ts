import type { KitTypeValue } from '../db/schema.js';
import { badInput } from '../errors.js';
import { decodeCursor, encodeCursor, pageSize, parseId, parseOptionalId } from './arguments.js';
import { connectionFromRows } from './connection.js';
import type { PageArgs, Resolver } from './types.js';

type Root = Record<string, never>;
type IdArgs = { id: string };
type KitsArgs = PageArgs & { clubId?: string | null; seasonId?: string | null; brandId?: string | null; type?: KitTypeValue | null };
type ClubsArgs = PageArgs & { search?: string | null; country?: string | null };

const optionalText = (value: string | null | undefined, field: string, max = 100): string | undefined => {
  const v = value?.trim();
  if (v && v.length > max) throw badInput(`${field} must be at most ${max} characters`, field);
  return v || undefined;
};

export const Query = {
  club: ((_, { id }, ctx) => ctx.loaders.club.load(parseId(id, 'id'))) satisfies Resolver<Root, IdArgs, unknown>,
  season: ((_, { id }, ctx) => ctx.loaders.season.load(parseId(id, 'id'))) satisfies Resolver<Root, IdArgs, unknown>,
  brand: ((_, { id }, ctx) => ctx.loaders.brand.load(parseId(id, 'id'))) satisfies Resolver<Root, IdArgs, unknown>,
  competition: ((_, { id }, ctx) => ctx.loaders.competition.load(parseId(id, 'id'))) satisfies Resolver<Root, IdArgs, unknown>,
  kit: ((_, { id }, ctx) => ctx.loaders.kit.load(parseId(id, 'id'))) satisfies Resolver<Root, IdArgs, unknown>,

  clubs: (async (_, args, ctx) => {
    const filter = { search: optionalText(args.search, 'search'), country: optionalText(args.country, 'country', 56) };
    const limit = pageSize(args.first);
    const after = decodeCursor(args.after, ['string', 'number']);
    const rows = limit === 0 ? [] : await ctx.reads.clubs(filter, after && { name: after[0] as string, id: after[1] as number }, limit);
    return connectionFromRows(rows, limit, (c) => encodeCursor([c.name, c.id]), after !== null, () => ctx.reads.clubCount(filter));
  }) satisfies Resolver<Root, ClubsArgs, unknown>,

  seasons: (async (_, { clubId }, ctx) => {
    if (clubId === undefined || clubId === null) return ctx.reads.seasons();
    const ids = (await ctx.loaders.seasonIdsByClub.load(parseId(clubId, 'clubId'))) ?? [];
    const seasons = (await ctx.loaders.season.loadMany(ids)).filter((s) => s && !(s instanceof Error));
    return seasons.sort((a, b) => (b as { startYear: number }).startYear - (a as { startYear: number }).startYear);
  }) satisfies Resolver<Root, { clubId?: string | null }, unknown>,
  brands: ((_, __, ctx) => ctx.reads.brands()) satisfies Resolver<Root, object, unknown>,
  competitions: ((_, __, ctx) => ctx.reads.competitions()) satisfies Resolver<Root, object, unknown>,

  kits: (async (_, args, ctx) => {
    const filter = {
      clubId: parseOptionalId(args.clubId, 'clubId'),
      seasonId: parseOptionalId(args.seasonId, 'seasonId'),
      brandId: parseOptionalId(args.brandId, 'brandId'),
      type: args.type ?? undefined,
    };
    const limit = pageSize(args.first);
    const after = decodeCursor(args.after, ['number']);
    const afterId = (after?.[0] as number | undefined) ?? null;
    const rows = limit === 0 ? [] : await ctx.reads.kits(filter, afterId, limit);
    return connectionFromRows(rows, limit, (k) => encodeCursor([k.id]), after !== null, () => ctx.reads.kitCount(filter));
  }) satisfies Resolver<Root, KitsArgs, unknown>,

  search: (async (_, { text, first }, ctx) => {
    const t = text.trim();
    if (t.length < 1 || t.length > 100) throw badInput('text must be 1 to 100 characters', 'text');
    const limit = pageSize(first);
    if (limit === 0) return [];
    const hits = await ctx.reads.search(t, limit);
    const load = { Club: ctx.loaders.club, Kit: ctx.loaders.kit, Brand: ctx.loaders.brand, Competition: ctx.loaders.competition };
    const rows = await Promise.all(hits.map((h) => load[h.type].load(h.id)));
    return rows.flatMap((row, i) => (row ? [{ ...row, __typename: hits[i]!.type }] : []));
  }) satisfies Resolver<Root, { text: string; first?: number | null }, unknown>,

  me: (async (_, __, ctx) => {
    const viewer = await ctx.auth.viewer();
    return viewer && ctx.loaders.user.load(viewer.id);
  }) satisfies Resolver<Root, object, unknown>,
};
