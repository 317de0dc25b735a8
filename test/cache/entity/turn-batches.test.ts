/**
 * The merging of one turn's reads on its own (the entity cache's use of it, against Redis and
 * memory, is in read-through.test.ts): what one turn asks is read once, the next turn's apart, and
 * each caller gets its own keys or its own failure.
 */
import { describe, expect, it } from 'vitest';
import {
  createTurnBatches,
  MAX_MERGED_IDS,
  type ReadMerged,
  type Settled,
} from '../../../src/cache/entity/turn-batches.js';

/** A reader that records what it was asked and answers `id * 10`, or fails the ids in `failing`. */
function recordingReader(failing: ReadonlySet<number> = new Set()) {
  const asked: number[][] = [];
  const read: ReadMerged = async (ids, told) => {
    asked.push([...ids]);
    for (const id of ids) {
      const outcome: Settled = failing.has(id)
        ? { ok: false, error: new Error(`row ${id} failed`) }
        : { ok: true, value: id * 10 };
      told(id, outcome);
    }
  };

  return { asked, read };
}

describe('turn batches', () => {
  it('reads what one turn asks once, in one call over the union of the ids, and answers each caller in its order', async () => {
    const batches = createTurnBatches();
    const source = {};
    const { asked, read } = recordingReader();
    const answers = await Promise.all([
      batches.read(source, 'Kit', [3, 1], read),
      batches.read(source, 'Kit', [1, 2], read),
      batches.read(source, 'Kit', [4], read),
    ]);
    expect(answers).toEqual([[30, 10], [10, 20], [40]]);
    expect(asked).toEqual([[3, 1, 2, 4]]);
  });

  it("reads the next turn's asks apart", async () => {
    const batches = createTurnBatches();
    const source = {};
    const { asked, read } = recordingReader();
    const first = batches.read(source, 'Kit', [1], read);
    await new Promise((resolve) => setImmediate(resolve));
    const second = batches.read(source, 'Kit', [2], read);
    expect(await Promise.all([first, second])).toEqual([[10], [20]]);
    expect(asked).toEqual([[1], [2]]);
  });

  it('answers a caller as soon as its own keys are told, before the read is done', async () => {
    const batches = createTurnBatches();
    const source = {};
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: ReadMerged = async (ids, told) => {
      told(1, { ok: true, value: 'found' });
      await gate; // the other key's statement and fill
      told(2, { ok: true, value: 'fetched' });
    };
    const early = batches.read(source, 'Kit', [1], slow);
    const late = batches.read(source, 'Kit', [2, 1], slow);
    let lateDone = false;
    void late.then(() => (lateDone = true));
    const held = new Promise((resolve) => setTimeout(() => resolve('held'), 1000));
    expect(await Promise.race([early, held])).toEqual(['found']);
    expect(lateDone).toBe(false);
    release();
    expect(await late).toEqual(['fetched', 'found']);
  });

  it('reads at most MAX_MERGED_IDS ids at once, the rest of the turn in further reads', async () => {
    const batches = createTurnBatches();
    const source = {};
    const { asked, read } = recordingReader();
    const ids = Array.from({ length: MAX_MERGED_IDS + 10 }, (_, i) => i + 1);
    const answers = await Promise.all([
      batches.read(source, 'Kit', ids.slice(0, MAX_MERGED_IDS - 5), read),
      batches.read(source, 'Kit', ids.slice(MAX_MERGED_IDS - 5), read),
    ]);
    expect(answers.flat()).toEqual(ids.map((id) => id * 10));
    expect(asked.map((a) => a.length)).toEqual([MAX_MERGED_IDS - 5, 15]);
  });

  it('fails only the callers of a failed key, and every caller when the read itself fails', async () => {
    const batches = createTurnBatches();
    const source = {};
    const { read } = recordingReader(new Set([2]));
    const [mine, theirs] = await Promise.allSettled([
      batches.read(source, 'Kit', [1], read),
      batches.read(source, 'Kit', [1, 2], read),
    ]);
    expect(mine).toEqual({ status: 'fulfilled', value: [10] });
    expect(theirs).toMatchObject({ status: 'rejected', reason: { message: 'row 2 failed' } });

    const broken: ReadMerged = async () => {
      throw new Error('no storage');
    };
    const all = await Promise.allSettled([
      batches.read(source, 'Kit', [1], broken),
      batches.read(source, 'Kit', [2], broken),
    ]);
    expect(all.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);

    // A key the reader leaves unanswered fails its caller: it is never answered as absent.
    const forgetful: ReadMerged = async (ids, told) => told(ids[0]!, { ok: true, value: 'only the first' });
    const [answered, unanswered] = await Promise.allSettled([
      batches.read(source, 'Kit', [7], forgetful),
      batches.read(source, 'Kit', [8], forgetful),
    ]);
    expect(answered).toEqual({ status: 'fulfilled', value: ['only the first'] });
    expect(unanswered).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('key 8') } });
  });
});
