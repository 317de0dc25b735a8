/**
 * The reads of one turn of the event loop, merged. Each request's DataLoaders batch only that
 * request's keys, but under load several requests reach the same kind of row at once (their Redis
 * replies arrive in one read of the socket and resume them together), and each of their batches
 * that reaches the storage costs a round trip, and each with misses an SQL statement and a fill.
 * Merged, the requests of a turn share one of each: `read` queues its ids, and the queue is read
 * once the turn's I/O callbacks have run (`setImmediate`), merging callers up to MAX_MERGED_IDS ids
 * per read (a single caller's larger batch is read alone, as before).
 *
 * A caller is answered as soon as its own keys are (a caller whose keys were all found does not
 * wait for a neighbour's statement, nor anyone for the fill), and fails only when one of its own
 * keys failed. A statement that fails fails every key it was reading, so every caller that missed
 * one of them: as one request's batch did for its own keys.
 */

/** One key's outcome. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Reads merged keys, telling `settled` each key's outcome as soon as it is known (each key once);
 * a key still untold when it resolves fails its callers, and so does every untold key when it rejects.
 */
export type ReadMerged = (ids: readonly number[], settled: (id: number, outcome: Settled) => void) => Promise<void>;

/** The most ids callers are merged up to: a larger turn is read in several (bounded script calls). */
export const MAX_MERGED_IDS = 500;

type Waiter = {
  ids: readonly number[];
  values: unknown[];
  /** Keys not yet answered; 0 once answered or failed. */
  left: number;
  resolve(values: unknown[]): void;
  reject(error: unknown): void;
};
type Queue = { read: ReadMerged; ids: Set<number>; waiters: Waiter[] };

export type TurnBatches = {
  /**
   * `ids`' values in their order. Calls of one turn with the same `source` (an object made once,
   * such as a loader's fetch) and `kind` are merged, and the first one's `read` reads them all: it
   * must read exactly as the others would.
   */
  read(source: object, kind: string, ids: readonly number[], read: ReadMerged): Promise<unknown[]>;
};

export function createTurnBatches(): TurnBatches {
  /** This turn's open queues, by source, then by kind; and those already full. */
  let queued = new Map<object, Map<string, Queue>>();
  let full: Queue[] = [];
  let scheduled = false;

  function flush() {
    scheduled = false;
    const turn = [...full];
    for (const byKind of queued.values()) turn.push(...byKind.values());
    queued = new Map();
    full = [];
    for (const queue of turn) void settle(queue);
  }

  async function settle(queue: Queue) {
    // Who waits for each key, at which places in its answer.
    const waiting = new Map<number, { waiter: Waiter; at: number }[]>();
    for (const waiter of queue.waiters) {
      waiter.ids.forEach((id, at) => {
        const list = waiting.get(id);
        if (list) list.push({ waiter, at });
        else waiting.set(id, [{ waiter, at }]);
      });
    }
    const told = (id: number, outcome: Settled) => {
      const list = waiting.get(id);
      if (!list) return;
      waiting.delete(id);
      for (const { waiter, at } of list) {
        if (waiter.left === 0) continue;
        if (!outcome.ok) {
          waiter.left = 0;
          waiter.reject(outcome.error);
          continue;
        }
        waiter.values[at] = outcome.value;
        if (--waiter.left === 0) waiter.resolve(waiter.values);
      }
    };
    let failure: unknown;
    try {
      await queue.read([...queue.ids], told);
    } catch (error) {
      failure = error;
    }
    for (const id of [...waiting.keys()])
      told(id, { ok: false, error: failure ?? new Error(`the merged read left key ${id} unanswered`) });
  }

  return {
    read(source, kind, ids, read) {
      if (!ids.length) return Promise.resolve([]);
      return new Promise<unknown[]>((resolve, reject) => {
        let byKind = queued.get(source);
        if (!byKind) queued.set(source, (byKind = new Map()));
        let queue = byKind.get(kind);
        if (queue && queue.ids.size + ids.length > MAX_MERGED_IDS) {
          full.push(queue);
          queue = undefined;
        }
        if (!queue) byKind.set(kind, (queue = { read, ids: new Set(), waiters: [] }));
        for (const id of ids) queue.ids.add(id);
        queue.waiters.push({ ids, values: new Array<unknown>(ids.length), left: ids.length, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}
