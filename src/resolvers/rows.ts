/** Rows as loaders hand them over (`null` when absent), made to fit the fields that show them. */

/** The rows of a `loadMany`, without those that are gone. */
export const present = <T>(values: (T | null | Error)[]): T[] =>
  values.filter((v): v is T => v !== null && !(v instanceof Error));

/**
 * The row a non-null reference field points at. Foreign keys keep it there; were it gone anyway,
 * this fails the field as graphql's non-null check would (an internal error, masked for clients),
 * naming the dangling reference in the log.
 */
export function referenced<T>(row: T | null, what: string): T {
  if (row === null) throw new Error(`${what} does not exist`);
  return row;
}
