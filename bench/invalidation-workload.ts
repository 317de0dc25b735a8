/**
 * The invalidation bench's data: a synthetic catalogue (20,000 kits over 500 clubs, 60 seasons,
 * 40 brands), the cached responses N entries are drawn from, and the mutations run against them.
 *
 * Entries come in groups of one shape (a list page or a kit's detail): every entry of a group has
 * the same tags and value size, as different documents or sessions reading the same page would.
 * Mix: 40 % unfiltered `kits` pages (`Kit.list`), 30 % filtered pages (`Kit.club:A`,
 * `Kit.season:S` or `Kit.brand:B`), both ≈ 4 KB and tagged with their 20 kits and those kits'
 * club, season and brand; 30 % `kit(id)` details (≈ 300 B: `Kit:<id>` and its club, season, brand).
 * Mutations build real change records and take their tags from the invalidation table
 * (src/invalidation/table.ts), so the bench drops what the server would drop.
 */
import { createHash } from 'node:crypto';
import type { KitSnapshot } from '../src/domain/changes.js';
import { invalidationFor } from '../src/invalidation/table.js';

export const CATALOGUE = { kits: 20_000, clubs: 500, seasons: 60, brands: 40, competitions: 40, users: 500 };
const PAGE = 20;
const LIST_BYTES = 4096;
const DETAIL_BYTES = 300;
const TYPES = ['HOME', 'AWAY', 'THIRD', 'GOALKEEPER', 'SPECIAL'] as const;

/** mulberry32: a small seeded PRNG, so every run draws the same entries and mutations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = (r: () => number, n: number) => Math.floor(r() * n);

export type GroupKind = 'list' | 'filtered' | 'detail';
export type Group = { kind: GroupKind; tags: string[]; value: string };

export type Workload = {
  size: number;
  /** The group of each entry. */
  groupOf: Int32Array;
  groups: Group[];
  /** Entries of group g: members[offsets[g] .. offsets[g + 1]). */
  offsets: Int32Array;
  members: Int32Array;
  /** Which groups carry a tag. */
  groupsByTag: Map<string, number[]>;
  kits: Map<number, KitSnapshot>;
  /** Users whose collection holds a kit (their collections are tagged on a kit's change too). */
  collectors(kitId: number): number[];
  /** The response-cache key of entry i, a sha256 hex as the server's keys are. */
  keyOf(i: number): string;
  entryTags(i: number): readonly string[];
  entryValue(i: number): string;
};

function makeKits(seed: number): Map<number, KitSnapshot> {
  const r = rng(seed);
  const kits = new Map<number, KitSnapshot>();
  const at = new Date('2024-01-01T00:00:00Z');
  for (let id = 1; id <= CATALOGUE.kits; id++) {
    const competitions = new Set<number>();
    for (let c = pick(r, 3); c > 0; c--) competitions.add(1 + pick(r, CATALOGUE.competitions));
    kits.set(id, {
      id,
      clubId: 1 + pick(r, CATALOGUE.clubs),
      seasonId: 1 + pick(r, CATALOGUE.seasons),
      brandId: 1 + pick(r, CATALOGUE.brands),
      type: TYPES[pick(r, TYPES.length)]!,
      name: `Kit ${id}`,
      primaryColour: 'red',
      secondaryColours: ['white'],
      description: null,
      createdAt: at,
      updatedAt: at,
      competitionIds: [...competitions],
    });
  }
  return kits;
}

/** A response body of about `bytes` characters showing these kits (its content does not matter to Redis). */
function body(field: string, kits: readonly KitSnapshot[], bytes: number, jitter: number): string {
  const nodes = kits.map(
    (k) => `{"id":"${k.id}","name":"${k.name}","club":{"id":"${k.clubId}"},"season":{"id":"${k.seasonId}"}}`,
  );
  const text = `{"data":{"${field}":[${nodes.join(',')}]},"pad":"`;
  const target = Math.round(bytes * (0.9 + 0.2 * jitter));
  return text.length + 2 >= target ? `${text}"}` : `${text}${'x'.repeat(target - text.length - 2)}"}`;
}

function entityTags(kits: readonly KitSnapshot[]): string[] {
  const tags = new Set<string>();
  for (const k of kits) tags.add(`Kit:${k.id}`);
  for (const k of kits) tags.add(`Club:${k.clubId}`);
  for (const k of kits) tags.add(`Season:${k.seasonId}`);
  for (const k of kits) tags.add(`Brand:${k.brandId}`);
  return [...tags];
}

export function buildWorkload(size: number, seed = 14): Workload {
  const kits = makeKits(seed);
  const r = rng(seed + 1);
  const all = [...kits.values()];
  const groups: Group[] = [];
  const pages = (kind: GroupKind, tag: string, list: readonly KitSnapshot[]) => {
    const ids: number[] = [];
    for (let p = 0; p * PAGE < list.length; p++) {
      const shown = list.slice(p * PAGE, (p + 1) * PAGE);
      ids.push(groups.length);
      groups.push({ kind, tags: [tag, ...entityTags(shown)], value: body('kits', shown, LIST_BYTES, r()) });
    }
    return ids;
  };
  // Unfiltered `kits`, newest first.
  const listPages = pages(
    'list',
    'Kit.list',
    [...all].sort((a, b) => b.id - a.id),
  );
  const filteredPages: number[][] = [];
  for (const [family, count, of] of [
    ['club', CATALOGUE.clubs, (k: KitSnapshot) => k.clubId],
    ['season', CATALOGUE.seasons, (k: KitSnapshot) => k.seasonId],
    ['brand', CATALOGUE.brands, (k: KitSnapshot) => k.brandId],
  ] as const) {
    const byValue = new Map<number, KitSnapshot[]>();
    for (const k of all) {
      const list = byValue.get(of(k));
      if (list) list.push(k);
      else byValue.set(of(k), [k]);
    }
    const ids: number[] = [];
    for (let v = 1; v <= count; v++) ids.push(...pages('filtered', `Kit.${family}:${v}`, byValue.get(v) ?? []));
    filteredPages.push(ids);
  }
  const detailOf = new Int32Array(CATALOGUE.kits + 1);
  for (const k of all) {
    detailOf[k.id] = groups.length;
    groups.push({
      kind: 'detail',
      tags: [`Kit:${k.id}`, `Club:${k.clubId}`, `Season:${k.seasonId}`, `Brand:${k.brandId}`],
      value: body('kit', [k], DETAIL_BYTES, r()),
    });
  }

  const groupOf = new Int32Array(size);
  for (let i = 0; i < size; i++) {
    const slot = i % 10;
    if (slot < 4) groupOf[i] = listPages[pick(r, listPages.length)]!;
    else if (slot < 7) {
      const family = filteredPages[pick(r, filteredPages.length)]!;
      groupOf[i] = family[pick(r, family.length)]!;
    } else groupOf[i] = detailOf[1 + pick(r, CATALOGUE.kits)]!;
  }
  const offsets = new Int32Array(groups.length + 1);
  for (let i = 0; i < size; i++) offsets[groupOf[i]! + 1]!++;
  for (let g = 0; g < groups.length; g++) offsets[g + 1]! += offsets[g]!;
  const members = new Int32Array(size);
  const fill = offsets.slice(0, groups.length);
  for (let i = 0; i < size; i++) members[fill[groupOf[i]!]!++] = i;

  const groupsByTag = new Map<string, number[]>();
  groups.forEach((g, id) => {
    for (const t of g.tags) {
      const list = groupsByTag.get(t);
      if (list) list.push(id);
      else groupsByTag.set(t, [id]);
    }
  });

  const collectorSeed = seed * 7919;
  return {
    size,
    groupOf,
    groups,
    offsets,
    members,
    groupsByTag,
    kits,
    collectors(kitId) {
      const c = rng(collectorSeed + kitId);
      return Array.from({ length: pick(c, 3) }, () => 1 + pick(c, CATALOGUE.users));
    },
    keyOf: (i) => createHash('sha256').update(`kv-bench:${seed}:${i}`).digest('hex'),
    entryTags: (i) => groups[groupOf[i]!]!.tags,
    entryValue: (i) => groups[groupOf[i]!]!.value,
  };
}

/** The entries carrying any of `tags` (what an invalidation of them drops). */
export function entriesTagged(w: Workload, tags: readonly string[]): number[] {
  const hit = new Set<number>();
  for (const t of tags) for (const g of w.groupsByTag.get(t) ?? []) hit.add(g);
  const out: number[] = [];
  for (const g of hit) for (let j = w.offsets[g]!; j < w.offsets[g + 1]!; j++) out.push(w.members[j]!);
  return out;
}

export type MutationKind = 'renameKit' | 'moveKit' | 'createKit';
export type Mutation = { kind: MutationKind; kitId: number; tags: string[] };

/**
 * `count` mutations: a createKit first (the worst case: `Kit.list` sits on ~40 % of entries), then
 * ~50 % renames, ~30 % moves to another club and ~20 % createKit, shuffled. Each applies its change
 * to the catalogue, so a kit moved twice moves from where the first move left it.
 */
export function planMutations(w: Workload, count: number, seed = 14): Mutation[] {
  const r = rng(seed + 2);
  const rest = count - 1;
  const renames = Math.round(rest * 0.5);
  const moves = Math.round(rest * 0.3);
  const kinds: MutationKind[] = [
    ...Array<MutationKind>(renames).fill('renameKit'),
    ...Array<MutationKind>(moves).fill('moveKit'),
    ...Array<MutationKind>(rest - renames - moves).fill('createKit'),
  ];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = pick(r, i + 1);
    [kinds[i], kinds[j]] = [kinds[j]!, kinds[i]!];
  }
  if (count > 0) kinds.unshift('createKit');
  let nextId = Math.max(...w.kits.keys()) + 1;
  const at = new Date('2024-06-01T00:00:00Z');
  return kinds.map((kind): Mutation => {
    if (kind === 'createKit') {
      const id = nextId++;
      const after: KitSnapshot = {
        id,
        clubId: 1 + pick(r, CATALOGUE.clubs),
        seasonId: 1 + pick(r, CATALOGUE.seasons),
        brandId: 1 + pick(r, CATALOGUE.brands),
        type: TYPES[pick(r, TYPES.length)]!,
        name: `Kit ${id}`,
        primaryColour: 'blue',
        secondaryColours: [],
        description: null,
        createdAt: at,
        updatedAt: at,
        competitionIds: [1 + pick(r, CATALOGUE.competitions)],
      };
      w.kits.set(id, after);
      return { kind, kitId: id, tags: invalidationFor({ entity: 'Kit', after, collectorIds: [] }).tags };
    }
    const id = 1 + pick(r, CATALOGUE.kits);
    const before = w.kits.get(id)!;
    const after: KitSnapshot =
      kind === 'renameKit'
        ? { ...before, name: `${before.name}′`, updatedAt: at }
        : { ...before, clubId: 1 + ((before.clubId + pick(r, CATALOGUE.clubs - 1)) % CATALOGUE.clubs), updatedAt: at };
    w.kits.set(id, after);
    const change = { entity: 'Kit' as const, before, after, collectorIds: w.collectors(id) };
    return { kind, kitId: id, tags: invalidationFor(change).tags };
  });
}
