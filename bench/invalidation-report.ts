/**
 * The invalidation bench's results: one row per size, merged into bench/results/invalidation.json
 * (a later run of some sizes replaces those rows and keeps the others) and rendered as
 * bench/results/invalidation.md.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Block, BlockKind, BlockSummary } from './invalidation-redis.js';
import type { MutationRun } from './invalidation-phases.js';
import type { MutationKind } from './invalidation-workload.js';

export type Latency = { n: number; p50: number; p99: number; max: number };

export type SizeRow = {
  size: number;
  meta: {
    date: string;
    commit: string;
    redisVersion: string;
    /** 1, 5 and 15 minute load averages when this size started and ended (2 cores, shared). */
    loadStart: number[];
    loadEnd: number[];
    settings: Record<string, number>;
    /** Where the bench and its redis-server ran (absent from rows written before pinning). */
    pinned?: string;
  };
  /** Lookups of filled entries before the mutations: what a Redis-level hit costs Redis (absent from older rows). */
  hits?: { lookups: number; hits: number; redisUsPerLookup: number };
  fill: {
    ms: number;
    stored: number;
    refused: number;
    held: number;
    /** What the store's stats() counts after the fill (null: it cannot count without a scan). */
    entries: number | null;
    /** Redis time in commands (INFO commandstats) per entry filled: what the fill costs Redis alone. */
    redisUsPerEntry: number;
    blocks: BlockSummary;
  };
  memory: { before: number; after: number; perEntry: number; valueBytesPerEntry: number };
  firstCreate: { ms: number; dropped: number; blocks: BlockSummary };
  mutations: {
    overall: Latency;
    byKind: Record<MutationKind, Latency>;
    /** Over the 500 ms a server's Redis command may take by default (REDIS_TIMEOUT_MS). */
    over500ms: number;
    dropped: { p50: number; max: number };
    /** The cache's fill level when each mutation started. */
    live: { min: number; mean: number };
    blocks: BlockSummary;
    refill: { stored: number; refused: number; held: number; present: number };
    /** Redis main-thread CPU time over the phase's wall time (absent from older rows). */
    redisBusy?: number;
    stale: number;
    staleChecked: number;
  };
};

export function latency(values: readonly number[]): Latency {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 };
}

export function summariseRuns(
  runs: readonly MutationRun[],
): Pick<SizeRow['mutations'], 'overall' | 'byKind' | 'over500ms' | 'dropped' | 'live'> {
  const of = (kind: MutationKind) => latency(runs.filter((r) => r.kind === kind).map((r) => r.ms));
  const dropped = latency(runs.map((r) => r.dropped));
  const live = runs.map((r) => r.live);
  return {
    overall: latency(runs.map((r) => r.ms)),
    byKind: { renameKit: of('renameKit'), moveKit: of('moveKit'), createKit: of('createKit') },
    over500ms: runs.filter((r) => r.ms > 500).length,
    dropped: { p50: dropped.p50, max: dropped.max },
    live: { min: Math.min(...live), mean: live.reduce((a, b) => a + b, 0) / Math.max(1, live.length) },
  };
}

export function mergeRows(jsonPath: string, rows: readonly SizeRow[]): SizeRow[] {
  let old: SizeRow[] = [];
  if (existsSync(jsonPath)) {
    const parsed: unknown = JSON.parse(readFileSync(jsonPath, 'utf8'));
    if (parsed && typeof parsed === 'object' && 'rows' in parsed && Array.isArray(parsed.rows)) old = parsed.rows;
  }
  // A row replaces the one of the same size.
  const replaced = new Set(rows.map((r) => r.size));
  return [...old.filter((r) => !replaced.has(r.size)), ...rows].sort((a, b) => a.size - b.size);
}

const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const blockText = (b: BlockSummary) => (b.longest ? `${(b.longest.us / 1000).toFixed(2)} ms` : '< 0.1 ms');
/** The longest block of one kind (rows written before kinds were told apart have none: "—"). */
const kindText = (b: BlockSummary, kind: BlockKind) => {
  if (!b.byKind) return '—';
  const block = b.byKind[kind];
  return block ? `${(block.us / 1000).toFixed(2)} ms` : '< 0.1 ms';
};
const kindsText = (b: BlockSummary) =>
  b.byKind
    ? (Object.entries(b.byKind) as [BlockKind, Block][])
        .map(([kind, block]) => `${kind} ${(block.us / 1000).toFixed(2)} ms`)
        .join(', ')
    : '—';
const count = (n: number) => n.toLocaleString('en-US');
const busyText = (r: SizeRow) =>
  r.mutations.redisBusy === undefined ? '—' : `${Math.round(r.mutations.redisBusy * 100)} %`;
const lat = (l: Latency) => `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)}`;

export function renderMarkdown(rows: readonly SizeRow[]): string {
  const lines = [
    '# Invalidation cost by cache size',
    '',
    'Written by `npm run bench:invalidation` (bench/invalidation-run.ts): its own redis-server, entries',
    'filled through the ResponseStore (lookup → lease → store), then mutations (`invalidate(tags)` with',
    'the tags of src/invalidation/table.ts) while a background refill re-stores what they drop (at a',
    'fixed rate, see the settings, so every size meets the same load; "Redis busy" is the share of the',
    "mutation phase Redis's main thread was on a CPU).",
    'Targets at 1M entries: longest block ≤ 5 ms, mutation p99 ≤ 50 ms. Latencies in ms. The first',
    'createKit meets the full cache (`Kit.list` on 40 % of entries); later mutations meet what the refill',
    'put back (see "cache fill" per size). Blocks are SLOWLOG wall times: unless redis-server had a',
    'core of its own ("pinned"), they include time it waited for one (see the load averages).',
    '',
    'The invalidation column takes the invalidation scripts alone; the other blocks are the fills',
    "(lookups, checks, writes), whose work grows with an entry's tags, not with the number of entries.",
    '',
    '| entries | fill | memory/entry | first createKit | mutations p50 / p99 / max | Redis busy | longest invalidation block | longest block (mutations) | longest block (fill) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${count(r.size)} | ${(r.fill.ms / 1000).toFixed(1)} s | ${count(Math.round(r.memory.perEntry))} B | ` +
        `${ms(r.firstCreate.ms)} (block ${blockText(r.firstCreate.blocks)}) | ${lat(r.mutations.overall)} | ${busyText(r)} | ` +
        `${kindText(r.mutations.blocks, 'invalidate')} | ${blockText(r.mutations.blocks)} | ${blockText(r.fill.blocks)} |`,
    );
  }
  lines.push('', '## Per size', '');
  for (const r of rows) {
    const m = r.mutations;
    lines.push(
      `### ${count(r.size)} entries`,
      '',
      `- Run ${r.meta.date} at ${r.meta.commit}, Redis ${r.meta.redisVersion}; load average ${r.meta.loadStart.join(' ')} at start, ${r.meta.loadEnd.join(' ')} at end; ${r.meta.pinned ?? 'not pinned'}; ${JSON.stringify(r.meta.settings)}.`,
      `- Fill: ${count(r.fill.stored)} stored, ${r.fill.refused} refused, ${r.fill.held} lease held; stats() counts ${r.fill.entries === null ? 'nothing (no index to count)' : count(r.fill.entries)}; ${count(Math.round(r.size / (r.fill.ms / 1000)))} entries/s; Redis busy ${count(Math.round(r.fill.redisUsPerEntry))} µs per entry (lookup, lease and write).`,
      ...(r.hits
        ? [
            `- Hits before the mutations: ${count(r.hits.hits)} of ${count(r.hits.lookups)} lookups of filled entries hit; Redis busy ${count(Math.round(r.hits.redisUsPerLookup))} µs per lookup.`,
          ]
        : []),
      `- Memory: used_memory ${count(r.memory.before)} → ${count(r.memory.after)} B: ${count(Math.round(r.memory.perEntry))} B per entry (values average ${count(Math.round(r.memory.valueBytesPerEntry))} B).`,
      `- First createKit after the fill: ${ms(r.firstCreate.ms)} ms, dropping ${count(r.firstCreate.dropped)} entries; longest block ${blockText(r.firstCreate.blocks)}${r.firstCreate.blocks.longest ? `: \`${r.firstCreate.blocks.longest.command}\`` : ''}.`,
      `- Mutations p50 / p99 / max (n): overall ${lat(m.overall)} (${m.overall.n}); renameKit ${lat(m.byKind.renameKit)} (${m.byKind.renameKit.n}); moveKit ${lat(m.byKind.moveKit)} (${m.byKind.moveKit.n}); createKit ${lat(m.byKind.createKit)} (${m.byKind.createKit.n}); ${m.over500ms} over 500 ms.`,
      `- Entries dropped per mutation: median ${count(m.dropped.p50)}, max ${count(m.dropped.max)}; cache fill when a mutation started: min ${count(m.live.min)}, mean ${count(Math.round(m.live.mean))} of ${count(r.size)}.`,
      `- Blocks during the mutations: longest ${blockText(m.blocks)}${m.blocks.longest ? `: \`${m.blocks.longest.command}\`` : ''}; ${m.blocks.over1ms} over 1 ms, ${m.blocks.over5ms} over 5 ms${m.blocks.overflowed ? ' (SLOWLOG overflowed: counts are lower bounds)' : ''}; longest by kind: ${kindsText(m.blocks)}. During the fill: ${r.fill.blocks.over1ms} over 1 ms, ${r.fill.blocks.over5ms} over 5 ms${r.fill.blocks.longest ? `, longest \`${r.fill.blocks.longest.command}\`` : ''}.`,
      `- Refill: ${count(m.refill.stored)} re-stored, ${m.refill.refused} refused, ${m.refill.present} found present. Stale answers: ${m.stale} of ${count(m.staleChecked)} dropped entries read right after their mutation.`,
      '',
    );
  }
  return lines.join('\n');
}

export function writeResults(basePath: string, rows: readonly SizeRow[]): SizeRow[] {
  const merged = mergeRows(`${basePath}.json`, rows);
  writeFileSync(`${basePath}.json`, `${JSON.stringify({ rows: merged }, null, 2)}\n`);
  writeFileSync(`${basePath}.md`, renderMarkdown(merged));
  return merged;
}
