/**
 * What the drop channel has applied, in memory shared by the threads of one process: the channel's
 * worker (drop-worker.ts) writes it the moment a drop arrives, and the main thread's layers
 * (local-layer.ts) check it on every read. So a drop takes effect without waiting for the main
 * thread's event loop, however busy that is with requests; acknowledging it no longer waits either.
 *
 * - Every key and group (per layer) hashes to one of SLOTS counters; a drop moves the counters of
 *   what it names (a purge moves its layer's own). A value is kept with the counters of its key and
 *   groups as they were, and read only while they still are: two names sharing a counter cost a
 *   miss, never a stale read.
 * - `epoch` moves on every drop heard, made, or lost channel: a fill begun before it is not kept.
 *   A drop moves the epoch first and the counters after, and a fill reads the counters first and
 *   the epoch after (`stamp`), so a fill either sees the epoch moved or keeps counters the drop
 *   moves after it (Atomics are sequentially consistent).
 * - `lost` moves when the channel is lost (every value goes), `subscribed` says whether it is
 *   subscribed now, and `confirmedAt` when the last heartbeat this process sent came back.
 */

/** Counters shared by every key and group of every layer; 256 KiB. */
const SLOTS = 1 << 16;
const EPOCH = 0;
const LOST = 1;
const SUBSCRIBED = 2;
const HEADER_INTS = 4;

/** The counters a value was kept with, and the channel loss it was kept after. */
export type Stamp = { readonly lost: number; readonly slots: Int32Array; readonly counts: Int32Array };

export type DropMarks = {
  /** To hand to the worker (workerData): the same memory, seen from there. */
  readonly buffer: SharedArrayBuffer;
  epoch(): number;
  /** A drop made here or heard: fills begun before it are not kept. */
  bumpEpoch(): void;
  /** What a drop of `layer` does: the epoch moves, then the counters of its keys and groups (or of the whole layer). */
  apply(layer: string, keys: readonly string[], groups: readonly string[], all: boolean): void;
  /** The counters of a value of `layer` under `key` in `groups`, read now; then whether the epoch is still `since`. */
  stamp(layer: string, key: string, groups: readonly string[], since: number): Stamp | null;
  /** Whether nothing a stamp was taken with has moved since. */
  holds(stamp: Stamp): boolean;
  /** The channel was lost: every value goes, and nothing is read until it is confirmed again. */
  lose(): void;
  subscribed(value: boolean): void;
  /** A heartbeat sent at `at` (ms, the process's clock: `clock()`) came back. */
  confirm(at: number): void;
  /** Subscribed, and a heartbeat sent less than `staleMs` ago has come back. */
  live(staleMs: number): boolean;
};

/** Milliseconds on a clock that every thread of the process shares (performance.now() does not). */
export const clock = () => performance.timeOrigin + performance.now();

/** FNV-1a over the UTF-16 code units: the same slot in every thread. */
function slotOf(layer: string, kind: string, name: string): number {
  let h = 0x811c9dc5;
  const text = `${layer}\0${kind}\0${name}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0) % SLOTS;
}

export function createDropMarks(): DropMarks {
  const bytes = HEADER_INTS * 4 + 8 + SLOTS * 4;
  return attachDropMarks(new SharedArrayBuffer(bytes));
}

/** The marks over memory another thread created (`createDropMarks().buffer`). */
export function attachDropMarks(buffer: SharedArrayBuffer): DropMarks {
  const header = new Int32Array(buffer, 0, HEADER_INTS);
  const confirmedAt = new BigInt64Array(buffer, HEADER_INTS * 4, 1);
  const slots = new Int32Array(buffer, HEADER_INTS * 4 + 8, SLOTS);

  return {
    buffer,
    epoch: () => Atomics.load(header, EPOCH),
    bumpEpoch: () => void Atomics.add(header, EPOCH, 1),
    apply(layer, keys, groups, all) {
      Atomics.add(header, EPOCH, 1);
      if (all) Atomics.add(slots, slotOf(layer, '*', ''), 1);
      for (const key of keys) Atomics.add(slots, slotOf(layer, 'k', key), 1);
      for (const group of groups) Atomics.add(slots, slotOf(layer, 'g', group), 1);
    },
    stamp(layer, key, groups, since) {
      const at = new Int32Array(groups.length + 2);
      at[0] = slotOf(layer, '*', '');
      at[1] = slotOf(layer, 'k', key);
      for (let i = 0; i < groups.length; i++) at[i + 2] = slotOf(layer, 'g', groups[i]!);
      const counts = new Int32Array(at.length);
      const lost = Atomics.load(header, LOST);
      for (let i = 0; i < at.length; i++) counts[i] = Atomics.load(slots, at[i]!);
      return Atomics.load(header, EPOCH) === since ? { lost, slots: at, counts } : null;
    },
    holds(stamp) {
      if (Atomics.load(header, LOST) !== stamp.lost) return false;
      for (let i = 0; i < stamp.slots.length; i++)
        if (Atomics.load(slots, stamp.slots[i]!) !== stamp.counts[i]) return false;
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
    confirm(at) {
      const value = BigInt(Math.floor(at));
      if (Atomics.load(confirmedAt, 0) < value) Atomics.store(confirmedAt, 0, value);
    },
    live(staleMs) {
      if (Atomics.load(header, SUBSCRIBED) !== 1) return false;
      return clock() - Number(Atomics.load(confirmedAt, 0)) < staleMs;
    },
  };
}
