/**
 * A DataLoader by id that answers what the process's layer holds without a promise (`get`). A warm
 * page reads about a hundred rows from that layer; a promise for each, DataLoader's batch per turn
 * and the resolvers' awaits cost more than the reads (the miss path's profile: dataloader, promise
 * helpers and the garbage they leave were a fifth of its CPU).
 *
 * The contract DataLoader states still holds for a request: a key keeps the answer it got first.
 * One taken from the layer is answered so again; one asked of DataLoader stays with DataLoader's
 * memoised answer, even if the layer holds it by then. Keys the layer does not hold are batched and
 * read through the entity cache as before.
 */
import DataLoader from 'dataloader';

/** A value now, or later. */
export type MaybePromise<T> = T | Promise<T>;

/**
 * `f` of `value`: at once when it is here, else when it comes. A failure is always a rejected
 * promise, never a throw: graphql-js completes a list's items one after another, and an item that
 * throws at once ends that loop with its siblings' promises unhandled (their rejections would then
 * end the process).
 */
export function andThen<T, R>(value: MaybePromise<T>, f: (value: T) => MaybePromise<R>): MaybePromise<R> {
  if (value instanceof Promise) return value.then(f);
  try {
    return f(value);
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

/** What the layer holds for an id, as the entity cache's `peek` answers it. */
export type Peek<V> = (id: number) => { value: V | null } | undefined;

export class CachedLoader<V> extends DataLoader<number, V | null> {
  readonly #peek: Peek<V>;
  /** What this request took from the layer. */
  readonly #taken = new Map<number, V | null>();
  /** What this request asked DataLoader for (its answer is memoised there). */
  readonly #asked = new Set<number>();

  constructor(batch: DataLoader.BatchLoadFn<number, V | null>, peek: Peek<V>) {
    super(batch);
    this.#peek = peek;
  }

  /** The value of `id`: without a promise when this request or the layer has it. */
  get(id: number): MaybePromise<V | null> {
    const taken = this.#taken.get(id); // a value or null, never undefined
    if (taken !== undefined) return taken;
    if (!this.#asked.has(id)) {
      const held = this.#peek(id);
      if (held) {
        this.#taken.set(id, held.value);
        return held.value;
      }
      this.#asked.add(id);
    }
    return super.load(id);
  }

  /** As `loadMany` (an `Error` in place of a value that could not be read), without a promise when none is needed. */
  getMany(ids: readonly number[]): MaybePromise<(V | null | Error)[]> {
    let waiting = false;
    const values = ids.map((id) => {
      const value = this.get(id);
      if (value instanceof Promise) waiting = true;
      return value;
    });
    if (!waiting) return values as (V | null)[];
    return Promise.all(values.map((v) => (v instanceof Promise ? v.catch(asError) : v)));
  }

  override load(id: number): Promise<V | null> {
    const value = this.get(id);
    return value instanceof Promise ? value : Promise.resolve(value);
  }

  override prime(id: number, value: V | null | PromiseLike<V | null> | Error): this {
    if (!this.#taken.has(id)) this.#asked.add(id); // from now on DataLoader's memo answers it
    return super.prime(id, value);
  }

  override clear(id: number): this {
    this.#taken.delete(id);
    this.#asked.delete(id);
    return super.clear(id);
  }

  override clearAll(): this {
    this.#taken.clear();
    this.#asked.clear();
    return super.clearAll();
  }
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));
