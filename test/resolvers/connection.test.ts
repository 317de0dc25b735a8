/**
 * "Absent" and "could not read" stay apart in what the loaders hand to the fields: a null (the row
 * is gone) is left out of a list; an Error (it could not be read) fails the field, so a partial
 * list is never presented, or cached, as the whole one.
 */
import { describe, expect, it } from 'vitest';
import { connectionFromIds } from '../../src/resolvers/connection.js';
import { present } from '../../src/resolvers/rows.js';

const row = (id: number) => ({ id });
const unreachable = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

describe('loaded rows in fields', () => {
  it('present() leaves out absent rows and throws the error of a row that could not be read', () => {
    expect(present([row(1), null, row(3)])).toEqual([row(1), row(3)]);
    expect(() => present([row(1), null, unreachable])).toThrow(unreachable);
  });

  it('connectionFromIds() skips absent nodes and fails when any node could not be read', async () => {
    const ids = [1, 2, 3, 4];
    const page = await connectionFromIds(ids, { first: 3 }, async (slice) =>
      slice.map((id) => (id === 2 ? null : row(id))),
    );
    expect(page.edges.map((e) => e.node)).toEqual([row(1), row(3)]);
    expect(page.totalCount).toBe(4);
    expect(page.pageInfo.hasNextPage).toBe(true);

    await expect(
      connectionFromIds(ids, { first: 3 }, async (slice) => slice.map((id) => (id === 3 ? unreachable : row(id)))),
    ).rejects.toBe(unreachable);
  });
});
