/**
 * Relay connections from two sources: an id list (relations, paged in memory over the cached list)
 * and a keyset page of rows (top-level filtered lists, paged in SQL).
 */
import type { MaybePromise } from '../loaders/cached-loader.js';
import { decodeCursor, encodeCursor, pageSize } from './arguments.js';
import { readOrThrow } from './rows.js';

export type Edge<T> = { cursor: string; node: T };
export type Connection<T> = {
  edges: Edge<T>[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
  totalCount: number | (() => Promise<number>);
};

const idCursor = (id: number) => encodeCursor([id]);

function pageInfo<T>(edges: Edge<T>[], hasNextPage: boolean, hasPreviousPage: boolean) {
  return {
    hasNextPage,
    hasPreviousPage,
    startCursor: edges[0]?.cursor ?? null,
    endCursor: edges[edges.length - 1]?.cursor ?? null,
  };
}

/**
 * Pages over an id list sorted ascending (or descending). The cursor is the last id seen, so a page
 * stays correct when items before it are added or removed. A node that could not be read (an
 * `Error` from the loader) fails the whole connection: a page with holes is not a page.
 */
export async function connectionFromIds<T>(
  ids: readonly number[],
  args: { first?: number | null; after?: string | null },
  load: (ids: number[]) => MaybePromise<(T | null | Error)[]>,
  order: 'asc' | 'desc' = 'asc',
): Promise<Connection<T>> {
  const limit = pageSize(args.first);
  const after = decodeCursor(args.after, ['number'])?.[0] as number | undefined;
  let start = 0;
  if (after !== undefined) {
    start = ids.findIndex((id) => (order === 'asc' ? id > after : id < after));
    if (start < 0) start = ids.length;
  }
  const slice = ids.slice(start, start + limit);
  const nodes = readOrThrow(slice.length ? await load(slice) : []);
  const edges: Edge<T>[] = [];
  nodes.forEach((node, i) => {
    // An id whose row vanished between the list and the lookup is skipped, not an error.
    if (node !== null) edges.push({ cursor: idCursor(slice[i]!), node });
  });
  return { edges, pageInfo: pageInfo(edges, start + limit < ids.length, start > 0), totalCount: ids.length };
}

/** Wraps a keyset page: its rows, and whether the list goes on (the page was read with one id more). */
export function connectionFromRows<T>(
  rows: T[],
  hasNextPage: boolean,
  cursorOf: (row: T) => string,
  hadCursor: boolean,
  totalCount: () => Promise<number>,
): Connection<T> {
  const edges = rows.map((node) => ({ cursor: cursorOf(node), node }));
  return { edges, pageInfo: pageInfo(edges, hasNextPage, hadCursor), totalCount };
}

export { idCursor };

/**
 * `totalCount` of any connection: a number, or a thunk so the count is only read when selected.
 * Called here, not left to the default resolver: compiled execution (graphql-jit) does not call
 * function-valued properties the way graphql-js does.
 */
export const connectionFields = {
  totalCount: <T>(connection: Connection<T>): number | Promise<number> =>
    typeof connection.totalCount === 'function' ? connection.totalCount() : connection.totalCount,
};
