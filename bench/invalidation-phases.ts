/**
 * The invalidation bench's phases, through the public ResponseStore only: the fill (N entries, the
 * server's miss path: lookup → lease → store, many in flight), and the mutations (each one
 * `invalidate(tags)`, timed) while a background refill re-stores what they dropped at a fixed rate
 * (bounded concurrency), as a server under read traffic would.
 */
import type { ResponseStore } from '../src/cache/response/index.js';
import { sleep } from './log.js';
import { entriesTagged, rng, type Mutation, type MutationKind, type Workload } from './invalidation-workload.js';

export const TTL_MS = 3600_000;
const LEASE_MS = 10_000;

export type FillCounts = { stored: number; refused: number; held: number };

/** Fills entry i: what the server does on a miss. */
async function fillOne(store: ResponseStore, w: Workload, i: number, counts: FillCounts): Promise<boolean> {
  const key = w.keyOf(i);
  const { value, generation } = await store.lookup(key);
  if (value) return true;
  if ((await store.lease(key, LEASE_MS)) === 'held') {
    counts.held++;
    return false;
  }
  const outcome = await store.store(key, w.entryValue(i), w.entryTags(i), TTL_MS, generation);
  if (outcome === 'stored') counts.stored++;
  else counts.refused++;
  return outcome === 'stored';
}

export async function fill(
  store: ResponseStore,
  w: Workload,
  concurrency: number,
  progress: (done: number) => void,
): Promise<FillCounts & { ms: number }> {
  const counts: FillCounts = { stored: 0, refused: 0, held: 0 };
  let next = 0;
  let done = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < w.size) {
      await fillOne(store, w, next++, counts);
      if (++done % 10_000 === 0) progress(done);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ...counts, ms: performance.now() - started };
}

/**
 * Looks up `n` filled entries at random, `concurrency` at a time, before any mutation: every one
 * should hit. Answers how many did; the caller reads what they cost Redis.
 */
export async function lookups(store: ResponseStore, w: Workload, n: number, concurrency: number): Promise<number> {
  const random = rng(41);
  let left = n;
  let hits = 0;
  const worker = async () => {
    while (left-- > 0) {
      const { value } = await store.lookup(w.keyOf(Math.floor(random() * w.size)));
      if (value) hits++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return hits;
}

/**
 * Re-stores dropped entries, `concurrency` at a time and at most `rate` a second. It also knows enough to check a mutation:
 * right after `invalidate` resolves, a sample of what it dropped must miss (a hit is a stale
 * answer), except entries whose refill looked up during that mutation (legitimately fresh) or is
 * still in flight; the refill pauses while the sample is read.
 */
export class Refill {
  readonly counts: FillCounts & { present: number } = { stored: 0, refused: 0, held: 0, present: 0 };
  private queue: number[] = [];
  private head = 0;
  private readonly queued: Uint8Array;
  private readonly inflight: Uint8Array;
  private inflightCount = 0;
  /** The mutation in progress when entry i's stored refill looked up (-1: none). */
  private readonly lookedUpDuring: Int32Array;
  private active = -1;
  private paused: Promise<void> | null = null;
  private running = true;
  private readonly workers: Promise<void>[];

  /** When the next refill may start (a fixed rate, so every size meets the same background load). */
  private nextAt = 0;

  constructor(
    private readonly store: ResponseStore,
    private readonly w: Workload,
    concurrency: number,
    /** Refills started per second at most (0: as many as `concurrency` allows). */
    private readonly rate: number,
  ) {
    this.queued = new Uint8Array(w.size);
    this.inflight = new Uint8Array(w.size);
    this.lookedUpDuring = new Int32Array(w.size).fill(-1);
    this.workers = Array.from({ length: concurrency }, () => this.work());
  }

  /** Entries the cache lacks now (waiting or being refilled). */
  missing(): number {
    return this.queue.length - this.head + this.inflightCount;
  }

  begin(mutation: number): void {
    this.active = mutation;
  }

  /**
   * After mutation `k`'s invalidate resolved: checks up to `sample` of `ids` (those it dropped),
   * then queues them. Answers the stale hits found and how many were checked, and how many of `ids`
   * the cache held (not already waiting for a refill).
   */
  async dropped(
    k: number,
    ids: readonly number[],
    sample: number,
  ): Promise<{ stale: number; checked: number; held: number }> {
    let release = () => {};
    this.paused = new Promise((r) => (release = r));
    let stale: number;
    let checked: number;
    try {
      const step = Math.max(1, Math.floor(ids.length / sample));
      const probe: number[] = [];
      for (let j = 0; j < ids.length && probe.length < sample; j += step) {
        const id = ids[j]!;
        if (!this.inflight[id] && this.lookedUpDuring[id] !== k) probe.push(id);
      }
      const found = await Promise.all(probe.map((id) => this.store.lookup(this.w.keyOf(id))));
      checked = probe.length;
      stale = found.filter((f) => f.value !== null).length;
    } finally {
      this.paused = null;
      release();
    }
    let held = 0;
    for (const id of ids) {
      if (this.queued[id]) continue;
      if (!this.inflight[id]) held++;
      this.queued[id] = 1;
      this.queue.push(id);
    }
    this.active = -1;
    return { stale, checked, held };
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    while (this.running) {
      if (this.paused) await this.paused;
      if (this.head >= this.queue.length) {
        await sleep(5);
        continue;
      }
      if (this.rate > 0) {
        const now = performance.now();
        const at = Math.max(now, this.nextAt);
        this.nextAt = at + 1000 / this.rate;
        if (at > now) await sleep(at - now);
        if (this.paused) await this.paused;
        if (this.head >= this.queue.length) continue;
      }
      const id = this.queue[this.head++]!;
      if (this.head > 65_536 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.queued[id] = 0;
      this.inflight[id] = 1;
      this.inflightCount++;
      const during = this.active;
      try {
        const before = this.counts.stored;
        const present = await fillOne(this.store, this.w, id, this.counts);
        if (present && this.counts.stored === before) this.counts.present++;
        if (present) this.lookedUpDuring[id] = during;
      } finally {
        this.inflight[id] = 0;
        this.inflightCount--;
      }
    }
  }
}

export type MutationRun = {
  kind: MutationKind;
  ms: number;
  /** Entries the cache held that carried one of its tags (by the workload's model). */
  dropped: number;
  /** Entries in the cache when it started. */
  live: number;
};

export type MutationPhase = { runs: MutationRun[]; stale: number; checked: number };

/**
 * Runs the mutations one after another, `gapMs` apart; `afterFirst` is called once the first has
 * answered (to read the blocks it caused alone).
 */
export async function mutate(
  store: ResponseStore,
  w: Workload,
  refill: Refill,
  mutations: readonly Mutation[],
  gapMs: number,
  afterFirst: () => Promise<void>,
): Promise<MutationPhase> {
  const runs: MutationRun[] = [];
  let stale = 0;
  let checked = 0;
  for (const [k, m] of mutations.entries()) {
    refill.begin(k);
    const live = w.size - refill.missing();
    const started = performance.now();
    await store.invalidate(m.tags);
    const ms = performance.now() - started;
    const check = await refill.dropped(k, entriesTagged(w, m.tags), 32);
    stale += check.stale;
    checked += check.checked;
    runs.push({ kind: m.kind, ms, dropped: check.held, live });
    if (k === 0) await afterFirst();
    await sleep(gapMs);
  }
  return { runs, stale, checked };
}
