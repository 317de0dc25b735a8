/**
 * What the drop channel has applied, in memory shared by the threads of one process: the channel's
 * worker (drop-worker.ts) writes it the moment a drop arrives, and the main thread's layers
 * (local-layer.ts) check it on every read. So a drop takes effect without waiting for the main
 * thread's event loop, however busy that is with requests; acknowledging it no longer waits either.
 *
 * - Every key and group (per layer) hashes to one of SLOTS counters, and each layer has a purge
 *   counter of its own; a drop moves the counters of what it names (a purge its layer's). A value is
 *   kept with the counters of its key, its groups and its layer as they were, and read only while
 *   they still are: two names sharing a counter cost a miss, never a stale read.
 * - `epoch` moves on every drop heard, made, or lost channel: a fill begun before it is not kept.
 *   A drop moves the epoch first and the counters after, and a fill reads the counters first and
 *   the epoch after (`stamp`), so a fill either sees the epoch moved or keeps counters the drop
 *   moves after it (Atomics are sequentially consistent).
 * - `lost` moves when the channel is lost (every value goes), `subscribed` says whether it is
 *   subscribed now, `closed` that it never will be again, and `confirmedAt` when the last heartbeat
 *   this process sent came back.
 */

/** Counters shared by every key and group of every layer; 1 MiB. */
const SLOTS = 1 << 18;
/** Purge counters, one per layer name's hash (a purge never shares a counter with a key or group). */
const PURGES = 16;
const EPOCH = 0;
const LOST = 1;
const SUBSCRIBED = 2;
const CLOSED = 3;
const HEADER_INTS = 4 + PURGES;

/**
 * What a value was kept with, packed: the channel loss it was kept after, the epoch its read began
 * in, then for its layer's purge counter, its key's and each group's, the counter's index (purge
 * counters negative: -1 - i) and count.
 */
export type Stamp = Int32Array;

export type DropMarks = {
  /** To hand to the worker (workerData): the same memory, seen from there. */
  readonly buffer: SharedArrayBuffer;
  epoch(): number;
  /** A drop made here or heard: fills begun before it are not kept. */
  bumpEpoch(): void;
  /** What a drop of `layer` does: the epoch moves, then the counters of its keys and groups (or of the whole layer). */
  apply(layer: string, keys: readonly string[], groups: readonly string[], all: boolean): void;
  /**
   * The counters of a value of `layer` under `key` in `groups`, read now; null if the epoch is no
   * longer `since` (a drop was heard or made since the value's read began).
   */
  stamp(layer: string, key: string, groups: readonly string[], since: number): Stamp | null;
  /** Whether nothing a stamp was taken with has moved since. */
  holds(stamp: Stamp): boolean;
  /** The channel was lost: every value goes, and nothing is read until it is confirmed again. */
  lose(): void;
  subscribed(value: boolean): void;
  /** For good: nothing is read any more, whatever the worker does before it stops. */
  close(): void;
  /** A heartbeat sent at `at` (ms, the process's clock: `clock()`) came back. */
  confirm(at: number): void;
  /** Subscribed, not closed, and a heartbeat sent less than `staleMs` ago has come back. */
  live(staleMs: number): boolean;
};

/**
 * Milliseconds on one clock for every thread of the process, absolute (performance.now() counts
 * from each thread's own time origin).
 */
export const clock = () => performance.timeOrigin + performance.now();

/** FNV-1a over the UTF-16 code units: the same number in every thread. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
const slotOf = (layer: string, kind: 'k' | 'g', name: string) => hash(`${layer}\0${kind}\0${name}`) % SLOTS;
const purgeOf = (layer: string) => 4 + (hash(layer) % PURGES);

export function createDropMarks(): DropMarks {
  return attachDropMarks(new SharedArrayBuffer(HEADER_INTS * 4 + 8 + SLOTS * 4));
}

/** The marks over memory another thread created (`createDropMarks().buffer`). */
export function attachDropMarks(buffer: SharedArrayBuffer): DropMarks {
  const header = new Int32Array(buffer, 0, HEADER_INTS);
  const confirmedAt = new BigInt64Array(buffer, HEADER_INTS * 4, 1);
  const slots = new Int32Array(buffer, HEADER_INTS * 4 + 8, SLOTS);
  /** A counter by its stamped index: purge counters (in the header) are negative. */
  const load = (at: number) => (at < 0 ? Atomics.load(header, -1 - at) : Atomics.load(slots, at));

  return {
    buffer,
    epoch: () => Atomics.load(header, EPOCH),
    bumpEpoch: () => void Atomics.add(header, EPOCH, 1),
    apply(layer, keys, groups, all) {
      Atomics.add(header, EPOCH, 1);
      if (all) Atomics.add(header, purgeOf(layer), 1);
      for (const key of keys) Atomics.add(slots, slotOf(layer, 'k', key), 1);
      for (const group of groups) Atomics.add(slots, slotOf(layer, 'g', group), 1);
    },
    stamp(layer, key, groups, since) {
      const stamp = new Int32Array(2 + 2 * (groups.length + 2));
      stamp[2] = -1 - purgeOf(layer);
      stamp[4] = slotOf(layer, 'k', key);
      for (let i = 0; i < groups.length; i++) stamp[6 + 2 * i] = slotOf(layer, 'g', groups[i]!);
      stamp[0] = Atomics.load(header, LOST);
      stamp[1] = since;
      for (let i = 2; i < stamp.length; i += 2) stamp[i + 1] = load(stamp[i]!);
      return Atomics.load(header, EPOCH) === since ? stamp : null;
    },
    holds(stamp) {
      if (Atomics.load(header, LOST) !== stamp[0]) return false;
      // The epoch moves before any counter does (and on every loss): while it is where the value's
      // read began, nothing can have moved, and a hit between writes reads one counter, not ~80.
      if (Atomics.load(header, EPOCH) === stamp[1]) return true;
      for (let i = 2; i < stamp.length; i += 2) if (load(stamp[i]!) !== stamp[i + 1]) return false;
      return true;
    },
    lose() {
      Atomics.store(header, SUBSCRIBED, 0);
      Atomics.store(confirmedAt, 0, BigInt(Number.MIN_SAFE_INTEGER));
      Atomics.add(header, LOST, 1);
      Atomics.add(header, EPOCH, 1);
    },
    subscribed(value) {
      Atomics.store(header, SUBSCRIBED, value ? 1 : 0);
    },
    close() {
      Atomics.store(header, CLOSED, 1);
      Atomics.add(header, LOST, 1);
      Atomics.add(header, EPOCH, 1);
    },
    confirm(at) {
      const value = BigInt(Math.floor(at));
      if (Atomics.load(confirmedAt, 0) < value) Atomics.store(confirmedAt, 0, value);
    },
    live(staleMs) {
      if (Atomics.load(header, SUBSCRIBED) !== 1 || Atomics.load(header, CLOSED) !== 0) return false;
      return clock() - Number(Atomics.load(confirmedAt, 0)) < staleMs;
    },
  };
}
