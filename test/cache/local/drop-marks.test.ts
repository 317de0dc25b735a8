/**
 * The marks a value of an in-process layer is kept with (src/cache/local/drop-marks.ts): it is read
 * only while nothing it was kept with has moved, whichever thread moved it; a drop of anything else
 * costs it nothing.
 */
import { describe, expect, it } from 'vitest';
import { attachDropMarks, createDropMarks } from '../../../src/cache/local/drop-marks.js';

const GROUPS = Array.from({ length: 80 }, (_, i) => `Kit:${i}`);

describe('drop marks', () => {
  it('hold while nothing at all was dropped, and while only other names were', () => {
    const marks = createDropMarks();
    const stamp = marks.stamp('response', 'entry-1', GROUPS, marks.epoch())!;
    expect(marks.holds(stamp)).toBe(true);
    marks.apply('response', ['entry-2'], ['Kit:999', 'Club:3'], false);
    marks.apply('entity', ['entry-1'], GROUPS, false); // another layer's names are other names
    expect(marks.holds(stamp)).toBe(true);
  });

  it("stop holding once the value's key, any of its groups or its layer is dropped, from either thread's view", () => {
    const marks = createDropMarks();
    const worker = attachDropMarks(marks.buffer); // the drop channel's thread sees the same memory
    const drops: [string[], string[], boolean][] = [
      [['entry-1'], [], false],
      [[], ['Kit:79'], false],
      [[], ['Kit:0'], false],
      [[], [], true],
    ];
    for (const [keys, groups, all] of drops) {
      const stamp = marks.stamp('response', 'entry-1', GROUPS, marks.epoch())!;
      worker.apply('response', keys, groups, all);
      expect(marks.holds(stamp), JSON.stringify({ keys, groups, all })).toBe(false);
    }
  });

  it('stop holding when the channel is lost, and are not taken for a read begun before a drop', () => {
    const marks = createDropMarks();
    const stamp = marks.stamp('response', 'entry-1', GROUPS, marks.epoch())!;
    marks.lose();
    expect(marks.holds(stamp)).toBe(false);
    const since = marks.epoch();
    marks.apply('response', ['anything'], [], false);
    expect(marks.stamp('response', 'entry-1', GROUPS, since)).toBeNull();
  });
});
