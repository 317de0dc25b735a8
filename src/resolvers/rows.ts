/**
 * Rows as loaders hand them over (`null` when absent, an `Error` when they could not be read), made
 * to fit the fields that show them. "Absent" and "could not read" stay apart: an absent row is left
 * out, a row that could not be read fails the field (the edge names the cause, e.g.
 * DATABASE_UNAVAILABLE), so a partial list is never presented, or cached, as the whole list.
 */

/** The first Error among loaded values, thrown; otherwise the values with no Error among them. */
export function readOrThrow<T>(values: readonly (T | Error)[]): T[] {
  const failed = values.find((v): v is Error => v instanceof Error);
  if (failed) throw failed;
  return values as T[];
}

/** The rows of a `loadMany`, without those that are gone; throws when any could not be read. */
export const present = <T>(values: readonly (T | null | Error)[]): T[] =>
  readOrThrow(values).filter((v): v is T => v !== null);

/**
 * The row a non-null reference field points at. Foreign keys keep it there; were it gone anyway,
 * this fails the field as graphql's non-null check would (an internal error, masked for clients),
 * naming the dangling reference in the log.
 */
export function referenced<T>(row: T | null, what: string): T {
  if (row === null) throw new Error(`${what} does not exist`);
  return row;
}
