/**
 * Opens the database: Postgres through postgres-js when a URL is given, PGlite (embedded, on disk
 * or in memory) otherwise. Both speak the same drizzle schema and migrations. Every statement drizzle
 * sends is counted, so tests and metrics can prove how many SQL statements a request cost.
 * With `timeoutMs`, everything the API asks of Postgres answers (or fails, DATABASE_UNAVAILABLE)
 * within that bound: see bounded.ts. PGlite runs in-process and needs no bound.
 */
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import type { ExtractTablesWithRelations, Logger } from 'drizzle-orm';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import postgres from 'postgres';
import { migrationsFolder } from '../paths.js';
import { boundedOptions, boundedSql } from './bounded.js';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** The handle `db.transaction` gives its callback. It is also a `Db`; a `Db` is not a `Tx`. */
export type Tx = PgTransaction<PgQueryResultHKT, typeof schema, ExtractTablesWithRelations<typeof schema>>;

/** Counts statements; `listeners` let a test or the metrics layer observe each one. */
export class SqlCounter implements Logger {
  statements = 0;
  readonly listeners = new Set<(query: string) => void>();
  logQuery(query: string): void {
    this.statements += 1;
    for (const listener of this.listeners) listener(query);
  }
}

export type Database = {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Where it is, for the start-up log line; never includes a password. */
  description: string;
  sql: SqlCounter;
  migrate(): Promise<void>;
  ping(): Promise<void>;
  /**
   * Calls `onNotify` on each NOTIFY on `channel`, and `onListen` each time the listening connection
   * is (re)established: notifications sent while it was away are lost, so a listener catches up then.
   * Answers a function that stops listening.
   */
  listen(channel: string, onNotify: () => void, onListen: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
};

export type DatabaseOptions = {
  /** postgres:// URL; absent means embedded PGlite. */
  url?: string | undefined;
  /** PGlite data directory; `memory://` keeps it in memory (tests). */
  pgliteDataDir?: string;
  maxConnections?: number;
  /**
   * DATABASE_PREPARE: the statements the repositories prepare (drizzle's `.prepare`: the reads, and
   * the writes' statements) become named statements, parsed once per connection. `false` sends every
   * statement unnamed (each with parameters then costs a describe round trip first), for a pooler
   * that cannot keep named statements (PgBouncer's transaction pooling before 1.21). Default true.
   */
  prepare?: boolean;
  /**
   * DATABASE_TIMEOUT_MS: the most any statement, BEGIN or COMMIT may take, enforced by the server
   * (statement_timeout) and by the client (for a link that cannot deliver the server's answer);
   * also the connect timeout. Absent: no bound (tools such as the seed, whose statements are long).
   * Migrations never run under it.
   */
  timeoutMs?: number;
};

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const counter = new SqlCounter();
  if (options.url) {
    const url = options.url;
    const base = {
      onnotice: () => {},
      // Migrations and our own queries never need the type-fetch round trip on connect.
      fetch_types: false,
    };
    const max = options.maxConnections ?? 10;
    const raw = postgres(url, {
      ...base,
      max,
      // postgres-js prepares a statement only when both this and the statement ask for it.
      prepare: options.prepare ?? true,
      ...(options.timeoutMs !== undefined ? boundedOptions(options.timeoutMs) : {}),
    });
    const client =
      options.timeoutMs !== undefined ? boundedSql(raw, options.timeoutMs, { maxAbandoned: 10 * max }) : raw;
    const db = drizzlePostgres(client, { schema, logger: counter }) as unknown as Db;
    const u = new URL(url);
    return {
      db,
      kind: 'postgres',
      description: `postgres ${u.hostname}:${u.port || 5432}${u.pathname}`,
      sql: counter,
      // On a connection of its own, without the statement bound: building an index may take long.
      migrate: async () => {
        const own = postgres(url, { ...base, max: 1 });
        try {
          await migratePostgres(drizzlePostgres(own), { migrationsFolder });
        } finally {
          await own.end({ timeout: 5 });
        }
      },
      ping: async () => {
        await client`select 1`;
      },
      // A connection of its own, which postgres-js re-opens (and re-listens on) when it drops.
      listen: async (channel, onNotify, onListen) => {
        const { unlisten } = await raw.listen(channel, () => onNotify(), onListen);
        return unlisten;
      },
      close: () => raw.end({ timeout: 5 }),
    };
  }
  const dir = options.pgliteDataDir ?? 'memory://';
  if (!dir.startsWith('memory://')) mkdirSync(path.resolve(dir), { recursive: true });
  const client = await PGlite.create(dir, { extensions: { pg_trgm } });
  const db = drizzlePglite(client, { schema, logger: counter }) as unknown as Db;
  return {
    db,
    kind: 'pglite',
    description: dir.startsWith('memory://') ? 'pglite (in memory)' : `pglite ${dir}`,
    sql: counter,
    migrate: () => migratePglite(drizzlePglite(client), { migrationsFolder }),
    ping: async () => {
      await client.query('select 1');
    },
    // In process: the "connection" never drops, so `onListen` runs once.
    listen: async (channel, onNotify, onListen) => {
      const unlisten = await client.listen(channel, () => onNotify());
      onListen();
      return unlisten;
    },
    close: () => client.close(),
  };
}
