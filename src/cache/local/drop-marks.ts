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
 * - `epoch` moves on every drop heard, made, or lost channel. A drop moves the epoch first and the
 *   counters after, and a fill reads the counters first and the epoch after (`stamp`), so a fill
 *   either sees the epoch moved or keeps counters the drop moves after it (Atomics are sequentially
 *   consistent).
 * - Each epoch's drop is logged with the counters it moves (a purge, a loss or a drop naming more
 *   than LOG_NAMES: "everything"). A fill begun before the epoch moved is still kept when every drop
 *   since is logged and names none of its counters: only a drop of its own names (or one this log no
 *   longer holds) costs it. Without the log, any drop anywhere voided every fill in flight, and under
 *   writes (a drop every few milliseconds, from any instance) the layers hardly filled at all.
 *   Each thread logs into its own ring (one writer each, so a reader can tell a torn entry: it
 *   checks the entry's epoch and count before and after reading its names).
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
/** Drops logged per thread (a power of two); a fill overlapped by more than this is not kept. */
const LOG = 256;
/** Counters one logged drop can name; a drop naming more is logged as moving everything. */
const LOG_NAMES = 13;
/** A logged drop: its epoch, its count of names (EVERYTHING, or WRITING while being written), the names. */
const ENTRY_INTS = 3 + LOG_NAMES;
const ENTRY_EPOCH = 0;
const ENTRY_COUNT = 1;
const ENTRY_NAMES = 3;
const EVERYTHING = -1;
const WRITING = -2;
/** The rings: the main thread's (createDropMarks) and the other thread's (attachDropMarks). */
const RINGS = 2;
const LOG_BYTES = RINGS * LOG * ENTRY_INTS * 4;

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
  /**
   * What a drop of `layer` does (one made here or heard): the epoch moves and the drop is logged
   * under it, then the counters of its keys and groups (or of the whole layer) move.
   */
  apply(layer: string, keys: readonly string[], groups: readonly string[], all: boolean): void;
  /**
   * The counters of a value of `layer` under `key` in `groups`, read now; null if a drop of any of
   * them (or of everything, or one no longer logged) has moved the epoch since `since` (when the
   * value's read began: it may predate that drop).
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

/** The marks, created by the main thread (which logs its drops in the first ring). */
export function createDropMarks(): DropMarks {
  return marksOver(new SharedArrayBuffer(HEADER_INTS * 4 + 8 + SLOTS * 4 + LOG_BYTES), 0);
}

/**
 * The marks over memory the main thread created (`createDropMarks().buffer`), for the one other
 * thread that moves them (the drop channel's worker): it logs its drops in the second ring.
 */
export function attachDropMarks(buffer: SharedArrayBuffer): DropMarks {
  return marksOver(buffer, 1);
}

function marksOver(buffer: SharedArrayBuffer, ring: number): DropMarks {
  const header = new Int32Array(buffer, 0, HEADER_INTS);
  const confirmedAt = new BigInt64Array(buffer, HEADER_INTS * 4, 1);
  const slots = new Int32Array(buffer, HEADER_INTS * 4 + 8, SLOTS);
  const log = new Int32Array(buffer, HEADER_INTS * 4 + 8 + SLOTS * 4, RINGS * LOG * ENTRY_INTS);
  /** A counter by its stamped index: purge counters (in the header) are negative. */
  const load = (at: number) => (at < 0 ? Atomics.load(header, -1 - at) : Atomics.load(slots, at));
  /** Where epoch `e`'s drop is logged in ring `r` (int32 epochs wrap; `& (LOG - 1)` keeps them in range). */
  const entryAt = (r: number, e: number) => (r * LOG + (e & (LOG - 1))) * ENTRY_INTS;

  /** Moves the epoch and logs the drop under it in this thread's ring (`names` null: everything). */
  function logged(names: readonly number[] | null): void {
    const e = (Atomics.add(header, EPOCH, 1) + 1) | 0;
    const at = entryAt(ring, e);
    // Marked as being written before anything else changes, so a reader never takes half an entry.
    Atomics.store(log, at + ENTRY_COUNT, WRITING);
    Atomics.store(log, at + ENTRY_EPOCH, e);
    if (names === null || names.length > LOG_NAMES) return void Atomics.store(log, at + ENTRY_COUNT, EVERYTHING);
    for (let i = 0; i < names.length; i++) Atomics.store(log, at + ENTRY_NAMES + i, names[i]!);
    Atomics.store(log, at + ENTRY_COUNT, names.length);
  }

  /**
   * Whether epoch `e`'s drop is logged (in either ring) and names none of the counters `names` holds. An
   * entry's names are read between two checks of its epoch and count: its one writer marks it
   * WRITING before changing it, so an entry rewritten under the read fails the second check.
   */
  function spares(names: (index: number) => boolean, e: number): boolean {
    for (let r = 0; r < RINGS; r++) {
      const at = entryAt(r, e);
      // The epoch first: its writer marked the entry WRITING before it stored the epoch, so the
      // count read after it is WRITING or this entry's own.
      if (Atomics.load(log, at + ENTRY_EPOCH) !== e) continue;
      const count = Atomics.load(log, at + ENTRY_COUNT);
      if (count < 0) return false; // everything, or not written yet
      for (let i = 0; i < count; i++) if (names(Atomics.load(log, at + ENTRY_NAMES + i))) return false;
      return Atomics.load(log, at + ENTRY_COUNT) === count && Atomics.load(log, at + ENTRY_EPOCH) === e;
    }
    return false; // not logged (yet, or any more)
  }

  return {
    buffer,
    epoch: () => Atomics.load(header, EPOCH),
    apply(layer, keys, groups, all) {
      logged(
        all
          ? null
          : [...keys.map((key) => slotOf(layer, 'k', key)), ...groups.map((group) => slotOf(layer, 'g', group))],
      );
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
      for (let i = 2; i < stamp.length; i += 2) stamp[i + 1] = load(stamp[i]!);
      const now = Atomics.load(header, EPOCH);
      // Every drop since the read began, checked against the counters just read: one that names
      // none of them cannot have made the value old. (A drop of the purge counter's layer is logged
      // as everything, so the purge index never needs comparing.) A drop after `now` moves its
      // counters after the epoch, so after the reads above: `holds` sees it.
      const moves = (now - since) | 0;
      if (moves < 0 || moves > LOG) return null;
      if (moves > 0) {
        // A value under many groups (an answer's tags) is looked up in a set, not scanned per name.
        const indices = Array.from({ length: stamp.length / 2 - 1 }, (_, i) => stamp[2 + 2 * i]!);
        const held = indices.length > 8 ? new Set(indices) : null;
        const names = held ? (index: number) => held.has(index) : (index: number) => indices.includes(index);
        for (let i = 1; i <= moves; i++) if (!spares(names, (since + i) | 0)) return null;
      }
      stamp[1] = now;
      return stamp;
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
      logged(null);
    },
    subscribed(value) {
      Atomics.store(header, SUBSCRIBED, value ? 1 : 0);
    },
    close() {
      Atomics.store(header, CLOSED, 1);
      Atomics.add(header, LOST, 1);
      logged(null);
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
