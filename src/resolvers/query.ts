import type { SearchHit } from '../services/catalogue-reads.js';
import { badInput } from '../errors.js';
import type { Loaders } from '../loaders/index.js';
import { decodeCursor, encodeCursor, pageSize, parseId, parseOptionalId } from './arguments.js';
import { connectionFromRows } from './connection.js';
import type { QueryResolvers, ResolversParentTypes } from './generated/types.js';
import { present } from './rows.js';

const optionalText = (value: string | null | undefined, field: string, max = 100): string | undefined => {
  const v = value?.trim();
  if (v && v.length > max) throw badInput(`${field} must be at most ${max} characters`, field);
  return v || undefined;
};

/**
 * A hit's row tagged with its type, for SearchResult.__resolveType. One case per type so the tag
 * matches the row's type; every load is issued at once, so each loader still batches.
 */
function searchResult(loaders: Loaders, hit: SearchHit): Promise<ResolversParentTypes['SearchResult'] | null> {
  switch (hit.type) {
    case 'Club':
      return loaders.club.load(hit.id).then((row) => row && { ...row, __typename: 'Club' });
    case 'Kit':
      return loaders.kit.load(hit.id).then((row) => row && { ...row, __typename: 'Kit' });
    case 'Brand':
      return loaders.brand.load(hit.id).then((row) => row && { ...row, __typename: 'Brand' });
    case 'Competition':
      return loaders.competition.load(hit.id).then((row) => row && { ...row, __typename: 'Competition' });
  }
}

// `satisfies`, not an annotation: the object keeps its precise type, so each resolver stays a
// required, callable property (tests call and spy on them).
export const Query = {
  club: (_, { id }, ctx) => ctx.loaders.club.get(parseId(id, 'id')),
  season: (_, { id }, ctx) => ctx.loaders.season.get(parseId(id, 'id')),
  brand: (_, { id }, ctx) => ctx.loaders.brand.get(parseId(id, 'id')),
  competition: (_, { id }, ctx) => ctx.loaders.competition.get(parseId(id, 'id')),
  kit: (_, { id }, ctx) => ctx.loaders.kit.get(parseId(id, 'id')),

  clubs: async (_, args, ctx) => {
    const filter = { search: optionalText(args.search, 'search'), country: optionalText(args.country, 'country', 56) };
    const limit = pageSize(args.first);
    const cursor = decodeCursor(args.after, ['string', 'number']);
    const after = cursor && { name: cursor[0] as string, id: cursor[1] as number };
    const ids = limit === 0 ? [] : ((await ctx.loaders.clubPage.load({ filter, after, limit: limit + 1 })) ?? []);
    return connectionFromRows(
      present(await ctx.loaders.club.getMany(ids.slice(0, limit))),
      ids.length > limit,
      (c) => encodeCursor([c.name, c.id]),
      after !== null,
      async () => (await ctx.loaders.clubCount.load(filter)) ?? 0,
    );
  },

  seasons: async (_, { clubId }, ctx) => {
    if (clubId === undefined || clubId === null)
      return present(await ctx.loaders.season.getMany((await ctx.loaders.allSeasonIds.load('all')) ?? []));
    const ids = (await ctx.loaders.seasonIdsByClub.get(parseId(clubId, 'clubId'))) ?? [];
    return present(await ctx.loaders.season.getMany(ids)).sort((a, b) => b.startYear - a.startYear);
  },
  brands: async (_, __, ctx) =>
    present(await ctx.loaders.brand.getMany((await ctx.loaders.allBrandIds.load('all')) ?? [])),
  competitions: async (_, __, ctx) =>
    present(await ctx.loaders.competition.getMany((await ctx.loaders.allCompetitionIds.load('all')) ?? [])),

  kits: async (_, args, ctx) => {
    const filter = {
      clubId: parseOptionalId(args.clubId, 'clubId'),
      seasonId: parseOptionalId(args.seasonId, 'seasonId'),
      brandId: parseOptionalId(args.brandId, 'brandId'),
      type: args.type ?? undefined,
    };
    const limit = pageSize(args.first);
    const after = decodeCursor(args.after, ['number']);
    const afterId = (after?.[0] as number | undefined) ?? null;
    const ids = limit === 0 ? [] : ((await ctx.loaders.kitPage.load({ filter, afterId, limit: limit + 1 })) ?? []);
    return connectionFromRows(
      present(await ctx.loaders.kit.getMany(ids.slice(0, limit))),
      ids.length > limit,
      (k) => encodeCursor([k.id]),
      after !== null,
      async () => (await ctx.loaders.kitCount.load(filter)) ?? 0,
    );
  },

  search: async (_, { text, first }, ctx) => {
    const t = text.trim();
    if (t.length < 1 || t.length > 100) throw badInput('text must be 1 to 100 characters', 'text');
    const limit = pageSize(first);
    if (limit === 0) return [];
    const hits = await ctx.reads.search(t, limit);
    const rows = await Promise.all(hits.map((h) => searchResult(ctx.loaders, h)));
    return rows.filter((row) => row !== null);
  },

  me: async (_, __, ctx) => {
    const viewer = await ctx.auth.viewer();
    return viewer && ctx.loaders.user.load(viewer.id);
  },
} satisfies QueryResolvers;
