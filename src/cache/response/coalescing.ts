/**
 * Identical misses run once. In this process, the first miss of a key leads a flight and the others
 * wait for its body, but only if they looked up at the same generation (their bucket's clock: then
 * nothing was invalidated in between, and its answer is as fresh as theirs). Across servers, a
 * miss also takes a short fill lease in the store (with its lookup where it can; the lease is the
 * server's, shared by its requests, and the leader here fills); a server that finds the lease held
 * by another polls briefly for the entry being filled, and otherwise executes without writing.
 */
import { decodeEntry, freshness, type EntryMeta } from './entry.js';
import type { ResponseStore } from './store.js';

/** How long a server may hold the right to fill an entry after a miss (its write releases it). */
export const LEASE_MS = 2_000;
/** How long another server waits for that fill before executing itself (without writing). */
export const WAIT_FOR_FILL_MS = 250;
const POLL_MS = 25;
/**
 * How long a request waits for the identical miss it joined. The leader's execution is bounded
 * (database timeouts) and settles its flight whatever happens, but a waiter never relies on that
 * alone: past this it executes by itself.
 */
export const JOIN_WAIT_MS = 5_000;

/** The leader's body, or null when it produced none within `ms` (then execute alone). */
export async function awaitFlight(flight: Flight, ms: number): Promise<string | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)));
  try {
    return await Promise.race([flight.body, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export type Flight = {
  generation: string;
  /** The leader's response body, or null when it produced nothing cacheable. */
  body: Promise<string | null>;
  /** Idempotent: the first call wins. */
  settle(body: string | null): void;
};

export class Flights {
  private readonly flights = new Map<string, Flight>();

  /** A flight for `key` that looked up at `generation`, if one is in the air. */
  joinable(key: string, generation: string): Flight | undefined {
    const flight = this.flights.get(key);
    return flight && flight.generation === generation ? flight : undefined;
  }

  /** True when some flight for `key` is in the air (a different generation may not join it). */
  busy(key: string): boolean {
    return this.flights.has(key);
  }

  lead(key: string, generation: string): Flight {
    let settle!: (body: string | null) => void;
    const body = new Promise<string | null>((resolve) => (settle = resolve));
    const flight: Flight = { generation, body, settle };
    this.flights.set(key, flight);
    return flight;
  }

  end(key: string, flight: Flight): void {
    flight.settle(null); // a no-op when the body was given
    if (this.flights.get(key) === flight) this.flights.delete(key);
  }
}

/** Polls for the entry another server is filling, for at most WAIT_FOR_FILL_MS. */
export async function waitForFill(
  store: ResponseStore,
  key: string,
): Promise<{ meta: EntryMeta; body: string } | null> {
  for (let waited = 0; waited < WAIT_FOR_FILL_MS; waited += POLL_MS) {
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    const found = await store.lookup(key);
    const entry = found.value && decodeEntry(found.value);
    if (entry && freshness(entry.meta).state === 'fresh') return { meta: entry.meta, body: entry.body.toString() };
  }
  return null;
}
