/**
 * A small seeded PRNG (mulberry32) for the hostile-input tests: the same seed gives the same
 * requests on every machine, so a failure names its seed and case and can be replayed alone.
 */
import { mulberry32 as numbers } from '../../src/db/seed.js';

export type Rng = {
  /** In [0, 1). */
  next(): number;
  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** One of the values, chosen in proportion to its weight. */
  weighted<T>(choices: readonly (readonly [number, T])[]): T;
  /** Some of the items (each kept with probability p), in order. */
  some<T>(items: readonly T[], p: number): T[];
};

/** The seed's generator (the one the data seed uses) with the helpers the generators need. */
export function mulberry32(seed: number): Rng {
  const next = numbers(seed);
  const rng: Rng = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    chance: (p) => next() < p,
    pick: (items) => {
      if (items.length === 0) throw new Error('pick from nothing');
      return items[Math.floor(next() * items.length)]!;
    },
    weighted: (choices) => {
      const total = choices.reduce((sum, [w]) => sum + w, 0);
      let r = next() * total;
      for (const [w, value] of choices) {
        r -= w;
        if (r < 0) return value;
      }
      return choices[choices.length - 1]![1];
    },
    some: (items, p) => items.filter(() => next() < p),
  };
  return rng;
}

/** The seed of case `index` of a run seeded with `seed` (splitmix32), so each case replays alone. */
export function caseSeed(seed: number, index: number): number {
  let z = (seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/** The run's seed: FUZZ_SEED when set (to replay or explore), else a fixed one (CI is deterministic). */
export function runSeed(fallback: number): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`FUZZ_SEED must be an integer, got ${raw}`);
  return n >>> 0;
}
