/**
 * The marks a value of an in-process layer is kept with (src/cache/local/drop-marks.ts): it is read
 * only while nothing it was kept with has moved, whichever thread moved it; a drop of anything else
 * costs it nothing.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { attachDropMarks, createDropMarks } from '../../../src/cache/local/drop-marks.js';

type TsxManifest = { exports: { './esm/api': { import: { default: string } } } };

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

  it('stop holding when the channel is lost, and are not taken for a read begun before a loss', () => {
    const marks = createDropMarks();
    const stamp = marks.stamp('response', 'entry-1', GROUPS, marks.epoch())!;
    marks.lose();
    expect(marks.holds(stamp)).toBe(false);
    const since = marks.epoch();
    attachDropMarks(marks.buffer).lose();
    expect(marks.stamp('response', 'entry-1', GROUPS, since)).toBeNull();
  });

  it("are not taken for a read begun before a drop of the value's key, any of its groups or its layer, made by either thread", () => {
    const marks = createDropMarks();
    const worker = attachDropMarks(marks.buffer);
    const drops: [string[], string[], boolean][] = [
      [['entry-1'], [], false],
      [[], ['Kit:79'], false],
      [['entry-9'], ['Club:1', 'Kit:0'], false],
      [[], [], true],
    ];
    for (const by of [marks, worker])
      for (const [keys, groups, all] of drops) {
        const since = marks.epoch();
        marks.apply('response', ['entry-2'], ['Kit:999'], false); // another name first: still logged past it
        by.apply('response', keys, groups, all);
        expect(marks.stamp('response', 'entry-1', GROUPS, since), JSON.stringify({ keys, groups, all })).toBeNull();
      }
  });

  it('are taken for a read overlapped only by drops of other names, from either thread, and hold until one of its own', () => {
    const marks = createDropMarks();
    const worker = attachDropMarks(marks.buffer);
    const since = marks.epoch();
    marks.apply('response', ['entry-2'], ['Kit:999', 'Club:3'], false);
    worker.apply('response', ['entry-3'], ['Kit:998'], false);
    worker.apply('entity', ['entry-1'], GROUPS, false); // another layer's names (logged as everything: > 13 names)
    expect(marks.stamp('response', 'entry-1', GROUPS, since)).toBeNull();
    const later = marks.epoch();
    worker.apply('entity', ['entry-1'], GROUPS.slice(0, 3), false);
    marks.apply('response', [], ['Season:1'], false);
    const stamp = marks.stamp('response', 'entry-1', GROUPS, later);
    expect(stamp).not.toBeNull();
    expect(marks.holds(stamp!)).toBe(true);
    worker.apply('response', [], ['Kit:5'], false);
    expect(marks.holds(stamp!)).toBe(false);
  });

  it('are not taken for a read overlapped by more drops than the log holds, whatever they name', () => {
    const marks = createDropMarks();
    const since = marks.epoch();
    for (let i = 0; i < 256; i++) marks.apply('response', [`other-${i}`], [], false);
    expect(marks.stamp('response', 'entry-1', GROUPS, since)).not.toBeNull();
    marks.apply('response', ['other-256'], [], false);
    expect(marks.stamp('response', 'entry-1', GROUPS, since)).toBeNull();
  });

  it("are never taken across a drop of the value's key made by another thread at the same time", async () => {
    const marks = createDropMarks();
    // The other thread: 100,000 drops of other names, every 7th of the value's key, each of those
    // recorded with the epoch it moved the marks to (only that thread drops, so epoch() after it is its own).
    const own = new Int32Array(new SharedArrayBuffer(4 * 20_000));
    // A worker does not inherit vitest's loader: tsx's, registered in it first, reads the TypeScript.
    const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
    const { exports } = JSON.parse(readFileSync(manifest, 'utf8')) as TsxManifest;
    const register = new URL(exports['./esm/api'].import.default, pathToFileURL(manifest)).href;
    const source = new URL('../../../src/cache/local/drop-marks.ts', import.meta.url).href;
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
       import(${JSON.stringify(register)}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); })
         .then(({ attachDropMarks }) => {
           const marks = attachDropMarks(workerData.buffer);
           let n = 0;
           for (let i = 0; i < 100000; i++) {
             if (i % 7 === 0) {
               marks.apply('response', ['entry-1'], [], false);
               workerData.own[1 + n++] = marks.epoch();
               Atomics.store(workerData.own, 0, n);
             } else marks.apply('response', ['other-' + i], ['Kit:' + i], false);
           }
         });`,
      { eval: true, workerData: { buffer: marks.buffer, own } },
    );
    const done = new Promise((resolve, reject) => worker.once('exit', resolve).once('error', reject));
    const taken: [number, number][] = [];
    let refused = 0;
    for (let exited = false; !exited;) {
      const since = marks.epoch();
      const stamp = marks.stamp('response', 'entry-1', ['Kit:0'], since);
      if (stamp) taken.push([since, stamp[1]!]);
      else refused += 1;
      exited = await Promise.race([done.then(() => true), new Promise<boolean>((r) => setImmediate(() => r(false)))]);
    }
    const drops = Array.from(own.subarray(1, 1 + Atomics.load(own, 0)));
    expect(drops.length).toBe(Math.ceil(100_000 / 7));
    // Taken across other names' drops, refused across its own: both happened, and no read taken
    // spans a drop of its key.
    expect(taken.filter(([since, at]) => at !== since).length).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    expect(taken.filter(([since, at]) => drops.some((e) => e > since && e <= at))).toEqual([]);
  });

  it('tell drops apart across the epoch counter wrapping around', () => {
    const marks = createDropMarks();
    new Int32Array(marks.buffer, 0, 1)[0] = 2 ** 31 - 3; // the epoch, three drops before it wraps
    const since = marks.epoch();
    for (let i = 0; i < 6; i++) marks.apply('response', [`other-${i}`], [], false);
    expect(marks.epoch()).toBeLessThan(0);
    const stamp = marks.stamp('response', 'entry-1', GROUPS, since);
    expect(stamp).not.toBeNull();
    marks.apply('response', ['entry-1'], [], false);
    expect(marks.holds(stamp!)).toBe(false);
    expect(marks.stamp('response', 'entry-1', GROUPS, since)).toBeNull();
  });
});
