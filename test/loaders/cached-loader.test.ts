/**
 * The per-request loader's fast path (src/loaders/cached-loader.ts): what the process's layer holds
 * is answered without a promise and without a batch, and within a request a key keeps the answer it
 * got first, wherever that came from. The layer here is a Map the test controls; the entity cache's
 * own `peek`, over Redis and its in-process layer, is what test/cache/entity/local-layer.test.ts's
 * queries read through (no Redis command when warm; not used while the link is held).
 */
import { describe, expect, it } from 'vitest';
import { andThen, CachedLoader } from '../../src/loaders/cached-loader.js';

type Row = { id: number; name: string };

/** A loader over `layer` whose batches answer from `database` and are recorded in `batches`. */
function loaderOver(layer: Map<number, Row | null>, database: Map<number, Row>) {
  const batches: number[][] = [];
  const loader = new CachedLoader<Row>(
    async (ids) => {
      batches.push([...ids]);
      return ids.map((id) => (id === 13 ? new Error('unlucky') : (database.get(id) ?? null)));
    },
    (id) => (layer.has(id) ? { value: layer.get(id)! } : undefined),
  );
  return { loader, batches };
}

describe('a request loader', () => {
  it('answers what the layer holds at once, absences included: no promise, no batch', async () => {
    const { loader, batches } = loaderOver(
      new Map([
        [1, { id: 1, name: 'Held' }],
        [2, null],
      ]),
      new Map(),
    );
    expect(loader.get(1)).toEqual({ id: 1, name: 'Held' });
    expect(loader.get(2)).toBeNull();
    expect(loader.getMany([1, 2])).toEqual([{ id: 1, name: 'Held' }, null]);
    expect(await loader.load(1)).toEqual({ id: 1, name: 'Held' });
    expect(batches).toEqual([]);
  });

  it('batches what the layer does not hold, as DataLoader does', async () => {
    const { loader, batches } = loaderOver(
      new Map([[1, { id: 1, name: 'Held' }]]),
      new Map([[5, { id: 5, name: 'Read' }]]),
    );
    const many = loader.getMany([1, 5, 6, 13]);
    expect(many).toBeInstanceOf(Promise);
    const values = await many;
    expect(values.slice(0, 3)).toEqual([{ id: 1, name: 'Held' }, { id: 5, name: 'Read' }, null]);
    expect(values[3]).toBeInstanceOf(Error); // in its place, as loadMany answers
    expect(batches).toEqual([[5, 6, 13]]);
  });

  it('keeps the answer a key got first for the rest of the request, wherever it came from', async () => {
    const layer = new Map<number, Row | null>([[1, { id: 1, name: 'Before' }]]);
    const { loader, batches } = loaderOver(layer, new Map([[5, { id: 5, name: 'From the database' }]]));
    const first = loader.get(1);
    layer.set(1, { id: 1, name: 'After' }); // a fill after a rename, say
    expect(loader.get(1)).toBe(first);
    expect(await loader.load(1)).toBe(first);

    const read = await loader.get(5); // the layer did not hold it: DataLoader read it
    layer.set(5, { id: 5, name: 'Filled since' });
    expect(await loader.get(5)).toBe(read);
    expect(batches).toEqual([[5]]); // answered from DataLoader's memo, not read again

    // Another request starts from what the layer holds now.
    const next = loaderOver(layer, new Map()).loader;
    expect(next.get(1)).toEqual({ id: 1, name: 'After' });
    expect(next.get(5)).toEqual({ id: 5, name: 'Filled since' });
  });

  it('forgets a key it is told to clear, and answers a primed key with what was primed', async () => {
    const layer = new Map<number, Row | null>([[1, { id: 1, name: 'Before' }]]);
    const { loader } = loaderOver(layer, new Map());
    loader.get(1);
    layer.set(1, { id: 1, name: 'After' });
    loader.clear(1);
    expect(loader.get(1)).toEqual({ id: 1, name: 'After' });

    layer.set(2, { id: 2, name: 'In the layer' });
    loader.prime(2, { id: 2, name: 'Primed' });
    expect(await loader.get(2)).toEqual({ id: 2, name: 'Primed' });
  });
});

describe('a resolver answering without a promise', () => {
  it('fails with a rejected promise, never a throw (a list of such fields must not leave siblings unhandled)', async () => {
    const dangling = () =>
      andThen(null, () => {
        throw new Error('Club 9 of Kit 1 does not exist');
      });
    let answer: unknown;
    expect(() => (answer = dangling())).not.toThrow();
    await expect(answer).rejects.toThrow('Club 9 of Kit 1 does not exist');
    expect(andThen(2, (n) => n * 2)).toBe(4); // a value stays a value
  });
});
