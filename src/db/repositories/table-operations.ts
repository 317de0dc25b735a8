/**
 * The statements every entity table with an integer `id` shares: batch read by id, and the writes a
 * service runs inside its transaction (insert, update, delete, and the locking read that takes the
 * "before" picture). Entity-specific queries stay written out in the repositories.
 *
 * Reads outside a transaction are built once and prepared (drizzle's `.prepare`): a read then
 * costs neither drizzle's query building nor, on Postgres, a parse per statement
 * (postgres-js keeps a named statement per connection). A batch binds its ids as one array
 * (`anyOf`), so every batch size shares one statement.
 *
 * A write's statements run on its transaction's connection. They are built once too, with
 * placeholders (an update or insert once per set of columns it writes), and handed to the
 * transaction's session on each run (prebuilt.ts). Prepared as well, a statement that connection
 * has seen before costs one round trip instead of two (postgres-js asks Postgres to describe an
 * unnamed statement with parameters before it runs it). (Postgres plans a prepared statement per
 * run at first, and may then keep a generic plan: its own plan cache rules.)
 */
import { asc, eq, getTableColumns, getTableName, sql, type desc, type SQL } from 'drizzle-orm';
import type { AnyPgColumn, PgTable } from 'drizzle-orm/pg-core';
import type { Db, Tx } from '../client.js';
import { boundKeys, encode, placeholders, prebuild, runIn } from './prebuilt.js';

/** A not-null integer column: an id or a foreign key to one. */
export type IntColumn = AnyPgColumn<{ data: number; notNull: true }>;
export type TableWithId = PgTable & { id: IntColumn };

export interface TableOperations<Row, Insert> {
  /** Rows for these ids, in no particular order; absent ids are simply missing. */
  byIds(ids: readonly number[]): Promise<Row[]>;
  insert(tx: Tx, values: Insert): Promise<Row>;
  /** The updated row, or undefined when there is no row with this id. */
  update(tx: Tx, id: number, values: Partial<Insert>): Promise<Row | undefined>;
  /** The deleted row, or undefined when there was none. */
  delete(tx: Tx, id: number): Promise<Row | undefined>;
  /**
   * Reads a row inside the write's transaction and locks it (`SELECT … FOR UPDATE`), so a concurrent
   * update cannot interleave its before/after picture (and PGlite, with one connection, is never
   * asked for a second one mid-transaction).
   */
  forUpdate(tx: Tx, id: number): Promise<Row | undefined>;
  /**
   * `forUpdate` and `update` in one statement (one round trip less for a write): the row locked,
   * its picture before (as the last writer left it: a lock that waited re-reads the row) and after.
   * Undefined when there is no row with this id. With nothing to set, it only locks and reads.
   */
  lockAndUpdate(tx: Tx, id: number, values: Partial<Insert>): Promise<{ before: Row; after: Row } | undefined>;
}

export function tableOperations<T extends TableWithId>(
  db: Db,
  table: T,
): TableOperations<T['$inferSelect'], T['$inferInsert']> {
  // The one cast. drizzle types the rows of a query through conditional types (join nullability,
  // subquery detection; for a prepared insert or delete, its `returning` result type) that
  // TypeScript cannot resolve while the table is a type parameter; for a plain table they come out
  // as exactly `$inferSelect`. This asserts it.
  const rows = (selected: unknown) => selected as T['$inferSelect'][];
  // Widened to the constraint, where drizzle's types resolve (see above).
  const from: TableWithId = table;
  const name = getTableName(table);
  const byIds = db.select().from(from).where(anyOf(table.id)).prepare(`${name}_by_ids`);
  const columns = getTableColumns(from);
  // Named apart from the columns' placeholders (an update may set `id` too).
  const byId = eq(table.id, sql.placeholder('whereId'));
  const forUpdate = prebuild(db.select(columns).from(from).where(byId).for('update'), `${name}_for_update`, columns);
  const deleted = prebuild(db.delete(from).where(byId).returning(columns), `${name}_delete`, columns);
  // Once per set of columns written, named after it: bounded by the sets the services write (a kit
  // update's optional fields make the most, at most 2^8; the same statement texts as before).
  const shape = (values: object) => boundKeys(values).join(',');
  const inserts = perShape(shape, (values: object, keys) =>
    prebuild(
      db
        .insert(from)
        .values(placeholders(boundKeys(values)))
        .returning(columns),
      `${name}_insert_${keys}`,
      columns,
    ),
  );
  const updates = perShape(shape, (values: object, keys) =>
    prebuild(
      db
        .update(from)
        .set(placeholders(boundKeys(values)))
        .where(byId)
        .returning(columns),
      `${name}_update_${keys}`,
      columns,
    ),
  );
  // The locking read as a CTE the update joins: when its lock waits, Postgres re-reads the locked row
  // (READ COMMITTED), and the update then applies to that version, so both pictures are consecutive.
  const locked = db.$with('before').as(db.select(columns).from(from).where(byId).for('update'));
  const beforeKey = (key: string) => `before.${key}`;
  const lockedColumn = (key: string) => {
    const column = locked[key];
    if (!column) throw new TypeError(`${key} is not a column of ${name}`);
    return column;
  };
  /** The row's columns, then the locked picture's under `before.<key>`: decoded alike (the same columns). */
  const bothPictures = Object.fromEntries([
    ...Object.entries(columns),
    ...Object.entries(columns).map(([key, column]) => [beforeKey(key), column] as const),
  ]);
  const lockedUpdates = perShape(shape, (values: object, keys) =>
    prebuild(
      db
        .with(locked)
        .update(from)
        .set(placeholders(boundKeys(values)))
        .from(locked)
        .where(eq(table.id, lockedColumn('id')))
        .returning({
          ...columns,
          ...Object.fromEntries(Object.keys(columns).map((key) => [beforeKey(key), lockedColumn(key)])),
        }),
      `${name}_lock_update_${keys}`,
      bothPictures,
    ),
  );
  /** A row of `lockedUpdates` split into its two pictures. */
  const pictures = (row: Record<string, unknown>) => {
    const before: Record<string, unknown> = {};
    const after: Record<string, unknown> = {};
    for (const key of Object.keys(columns)) {
      before[key] = row[beforeKey(key)];
      after[key] = row[key];
    }
    return { before: rows([before])[0]!, after: rows([after])[0]! };
  };
  return {
    byIds: async (ids) => rows(await byIds.execute({ ids: idList(ids) })),
    // Encoded first: values with a key that is no column are refused before a statement is built.
    insert: async (tx, values) => {
      const encoded = encode(table, values);
      return rows(await runIn(tx, inserts(values), encoded))[0]!;
    },
    update: async (tx, id, values) => {
      const encoded = encode(table, values);
      return rows(await runIn(tx, updates(values), { ...encoded, whereId: id }))[0];
    },
    delete: async (tx, id) => rows(await runIn(tx, deleted, { whereId: id }))[0],
    forUpdate: async (tx, id) => rows(await runIn(tx, forUpdate, { whereId: id }))[0],
    lockAndUpdate: async (tx, id, values) => {
      const encoded = encode(table, values);
      if (Object.keys(encoded).length === 0) {
        const row = rows(await runIn(tx, forUpdate, { whereId: id }))[0];
        return row && { before: row, after: row };
      }
      const [row] = await runIn(tx, lockedUpdates(values), { ...encoded, whereId: id });
      return row && pictures(row);
    },
  };
}

/**
 * Child ids per parent (`parent in (ids)`) as `{ parent, id }` rows: the one-to-many relation lists
 * the loaders group and page over. Ordered by the child id (`asc` unless told), or not at all with `null`.
 */
export function childIds(
  db: Db,
  table: PgTable,
  parent: IntColumn,
  child: IntColumn,
  order: typeof asc | typeof desc | null = asc,
): (ids: readonly number[]) => Promise<{ parent: number; id: number }[]> {
  const query = db.select({ parent, id: child }).from(table).where(anyOf(parent));
  const name = `${getTableName(table)}_${parent.name}_${child.name}`;
  const prepared = order ? query.orderBy(order(child)).prepare(name) : query.prepare(name);
  return (ids) => prepared.execute({ ids: idList(ids) });
}

/**
 * `column = any(:ids)`: the same statement text for any number of ids, so one prepared statement
 * serves every batch (`in ($1, …, $n)` would be a new text, and a new parse, for each n). Bind
 * `idList(ids)` to `ids`. `bigint` for a bigserial column (an `int` array would refuse its ids past
 * 2^31).
 */
export const anyOf = (column: IntColumn, element: 'int' | 'bigint' = 'int'): SQL =>
  sql`${column} = any(${sql.placeholder('ids')}::${sql.raw(element)}[])`;

/** Ids as the Postgres array literal `anyOf` binds. Integers only, so nothing in it needs quoting. */
export function idList(ids: readonly number[]): string {
  for (const id of ids) if (!Number.isSafeInteger(id)) throw new TypeError(`not an integer id: ${String(id)}`);
  return `{${ids.join(',')}}`;
}

/** The child ids of one parent, read inside the write's transaction. */
export function childIdsOf(
  db: Db,
  table: PgTable,
  parent: IntColumn,
  child: IntColumn,
): (tx: Tx, id: number) => Promise<number[]> {
  const name = `${getTableName(table)}_${child.name}_of_${parent.name}`;
  const fields = { id: child };
  const statement = prebuild(
    db
      .select(fields)
      .from(table)
      .where(eq(parent, sql.placeholder('id'))),
    name,
    fields,
  );
  return async (tx, id) => (await runIn(tx, statement, { id })).map((r) => r.id);
}

/**
 * One prepared read per shape of a filter (`shapeOf`: which of its parts are set, a few bits, so a
 * handful of statements at most), each built the first time its shape is asked for. The shape is
 * worked out here, once per call, so a caller cannot pair a filter with another filter's statement.
 */
export function perShape<F, P>(
  shapeOf: (filter: F) => string,
  build: (filter: F, shape: string) => P,
): (filter: F) => P {
  const made = new Map<string, P>();
  return (filter) => {
    const shape = shapeOf(filter);
    let prepared = made.get(shape);
    if (prepared === undefined) {
      prepared = build(filter, shape);
      made.set(shape, prepared);
    }
    return prepared;
  };
}
