/**
 * A transaction's statements, built once. Drizzle builds a statement (its SQL text and parameter
 * list) each time a query builder runs, and a builder belongs to the session it was made from, so a
 * statement run inside a transaction used to be built on every call: 30-40 µs of drizzle's CPU
 * each, a tenth of a rename (bench:cost --kinds rename --cpu-prof: drizzle 15 % of its CPU).
 *
 * Here a statement is built once, on the database handle, with placeholders for what varies; each
 * run hands its text to the transaction's own session (`tx._.session.prepareQuery`, which is what
 * a builder's `.prepare` calls after building), so it runs on the transaction's connection as the
 * same prepared statement, and its rows map through drizzle as before.
 *
 * What drizzle does to a value it binds, this does at run time (`encode`): a column's driver
 * mapping, `null` passed as is. Placeholders are named after the table's properties.
 */
import { getTableColumns, sql, type Query, type SQL } from 'drizzle-orm';
import {
  PgDialect,
  type PgColumn,
  type PgTable,
  type PreparedQueryConfig,
  type SelectedFieldsOrdered,
} from 'drizzle-orm/pg-core';
import type { Tx } from '../client.js';

/**
 * A statement built once: its text and parameters (placeholders among them), how its rows map, and
 * (as a type only) what it answers, as drizzle types its builder's result.
 */
export type Prebuilt<R> = { query: Query; fields: SelectedFieldsOrdered | undefined; name: string; result?: R };

/** In drizzle's own order (its `orderSelectedFields` over a flat selection): the text lists them so. */
const ordered = (fields: Record<string, PgColumn> | undefined): SelectedFieldsOrdered | undefined =>
  fields && Object.entries(fields).map(([key, field]) => ({ path: [key], field }));

/**
 * `builder` built now. `fields`: the columns its rows come back as, as the builder selects or
 * returns them (none: the driver's rows).
 */
export function prebuild<R>(
  builder: { toSQL(): Query; execute(...args: never[]): Promise<R> },
  name: string,
  fields?: Record<string, PgColumn>,
): Prebuilt<R> {
  return {
    query: builder.toSQL(),
    fields: ordered(fields),
    name,
  };
}

/** Renders written-out SQL as drizzle's builders render theirs (placeholders kept for each run). */
const dialect = new PgDialect();

/**
 * `statement`, SQL written out for what drizzle's builders cannot say, built now as `prebuild`
 * builds a builder. Its values are placeholders; one bound through a column's mapping is
 * `sql.param(sql.placeholder(name), column)`.
 */
export function prebuildSql<R>(statement: SQL, name: string, fields?: Record<string, PgColumn>): Prebuilt<R> {
  return {
    query: dialect.sqlToQuery(statement),
    fields: ordered(fields),
    name,
  };
}

/** A column's bare name, where SQL wants no table before it (an insert's column list, `returning`). */
export const column = (c: PgColumn): SQL => sql`${sql.identifier(c.name)}`;

/** Runs `statement` on the transaction's connection, `values` filling its placeholders. */
export function runIn<R>(tx: Tx, statement: Prebuilt<R>, values: Record<string, unknown> = {}): Promise<R> {
  return tx._.session
    .prepareQuery<PreparedQueryConfig & { execute: R }>(statement.query, statement.fields, statement.name, true)
    .execute(values);
}

/** A placeholder for each key, named after it (for `set` and `values`, which take SQL as is). */
export function placeholders(keys: readonly string[]): Record<string, SQL> {
  return Object.fromEntries(keys.map((key) => [key, sql`${sql.placeholder(key)}`]));
}

/** The keys of `values` drizzle would bind (it leaves `undefined` out), in one order. */
export function boundKeys(values: object): string[] {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([key]) => key)
    .sort();
}

/** `values` as the driver takes them: each through its column's mapping, as drizzle binds a value. */
export function encode(table: PgTable, values: Record<string, unknown>): Record<string, unknown> {
  const columns: Record<string, PgColumn> = getTableColumns(table);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const column = columns[key];
    if (!column) throw new TypeError(`${key} is not a column of this table`);
    out[key] = value === null ? null : column.mapToDriverValue(value);
  }
  return out;
}
