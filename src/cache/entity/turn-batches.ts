/**
 * The reads of one turn of the event loop, merged. Each request's DataLoaders batch only that
 * request's keys, but under load several requests reach the same kind of row at once (their Redis
 * replies arrive in one read of the socket and resume them together), and each of their batches
 * that reaches the storage costs a round trip, and each with misses an SQL statement and a fill.
 * Merged, the requests of a turn share one of each: `read` queues its ids, and the queue is read
 * once the turn's I/O callbacks have run (`setImmediate`), which adds no more than the rest of that
 * turn to a read's wait.
 *
 * Each caller gets its own answers and only its own errors: a key that failed fails the callers
 * that asked for it, not the others merged with it.
 */

/** One key's outcome. */
export type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Reads merged keys; answers an outcome for every key it is handed. */
export type ReadMerged = (ids: readonly number[]) => Promise<Map<number, Settled>>;

type Waiter = { ids: readonly number[]; resolve(values: unknown[]): void; reject(error: unknown): void };
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
  /** This turn's queues, by source, then by kind. */
  let queued = new Map<object, Map<string, Queue>>();
  let scheduled = false;

  function flush() {
    scheduled = false;
    const turn = queued;
    queued = new Map();
    for (const byKind of turn.values()) for (const queue of byKind.values()) void settle(queue);
  }

  async function settle(queue: Queue) {
    let outcomes: Map<number, Settled>;
    try {
      outcomes = await queue.read([...queue.ids]);
    } catch (error) {
      for (const waiter of queue.waiters) waiter.reject(error);
      return;
    }
    for (const waiter of queue.waiters) answer(waiter, outcomes);
  }

  return {
    read(source, kind, ids, read) {
      return new Promise<unknown[]>((resolve, reject) => {
        let byKind = queued.get(source);
        if (!byKind) queued.set(source, (byKind = new Map()));
        let queue = byKind.get(kind);
        if (!queue) byKind.set(kind, (queue = { read, ids: new Set(), waiters: [] }));
        for (const id of ids) queue.ids.add(id);
        queue.waiters.push({ ids, resolve, reject });
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
    },
  };
}

/** A waiter's values in its order, or the first error among its own keys. */
function answer(waiter: Waiter, outcomes: Map<number, Settled>) {
  const values: unknown[] = new Array(waiter.ids.length);
  for (let i = 0; i < waiter.ids.length; i++) {
    const outcome = outcomes.get(waiter.ids[i]!);
    if (!outcome) return waiter.reject(new Error(`the merged read left key ${waiter.ids[i]} unanswered`));
    if (!outcome.ok) return waiter.reject(outcome.error);
    values[i] = outcome.value;
  }
  waiter.resolve(values);
}
