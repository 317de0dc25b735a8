/**
 * Bounded time for everything that needs Postgres through postgres-js. Four guards, each for a
 * fault the others cannot see (`ms` is DATABASE_TIMEOUT_MS):
 *
 *   1. The server stops any statement at 90% of `ms` (`statement_timeout`, sent as a connection
 *      parameter by `boundedOptions`), so a slow statement ends with 57014 and frees its connection.
 *   2. Every statement our code awaits rejects on the client at `ms` with a DatabaseTimeoutError
 *      (`boundedSql`): a held link never lets the server's answer, or its timeout, reach us. A
 *      transaction's BEGIN and COMMIT are bounded the same way.
 *   3. A connection that sent something and heard nothing for `ms` is dropped (`watchedSockets`):
 *      the server answers every statement within its statement_timeout, so that silence means the
 *      link is gone. postgres-js then fails what was on it and connects again on demand, so a
 *      black-holed connection is not reused (TCP alone would keep it for many minutes).
 *   4. Connecting is bounded (`connect_timeout`), and the reconnect backoff is capped at half of
 *      `ms`, so once the server is back a request is not failed merely because the pool waits.
 *
 * Why not `query.cancel()`: in postgres-js 3.4 it loses a pool connection when the query is the
 * first of a connection still connecting (that connection is never handed out again), and for a
 * query already sent it opens a cancel connection whose failure is an unhandled rejection. Guard 1
 * stops the statement on the server and guard 3 drops a connection that cannot be reached, which
 * is what a cancel would achieve, without those hazards.
 */
import { connect, type Socket } from 'node:net';
import type { Options, Sql, TransactionSql } from 'postgres';

/** Thrown when the database did not answer within the bound; classified DATABASE_UNAVAILABLE. */
export class DatabaseTimeoutError extends Error {
  override name = 'DatabaseTimeoutError';
  /** Stable code, looked at by the HTTP edge (src/errors.ts), like a driver error's code. */
  readonly code = 'DATABASE_TIMEOUT';
  constructor(
    readonly ms: number,
    /**
     * What was waited for. After `commit` the outcome of the transaction is unknown (it may have
     * committed); after every other phase nothing was committed by this call.
     */
    readonly phase: 'statement' | 'begin' | 'commit' | 'connection' | 'shed',
  ) {
    super(
      phase === 'shed'
        ? `not sent: too many statements already wait for a database that did not answer within ${ms} ms`
        : `no answer from the database within ${ms} ms (${phase})`,
    );
  }
}

/**
 * The postgres-js options that put guards 1, 3 and 4 in place. (`socket` is a documented option
 * its type declarations leave out, hence the wider type.)
 */
export function boundedOptions(ms: number): Options<Record<string, never>> & { socket: unknown } {
  return {
    connect_timeout: ms / 1000,
    // postgres-js's default grows to 20 s after a few failed attempts: a pool would stay away long
    // after the server came back. Exponential from 50 ms, capped at half the bound, with jitter.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, ms / 2000) * (0.5 + Math.random() / 2),
    connection: {
      statement_timeout: Math.max(1, Math.floor(ms * 0.9)),
      // A transaction whose client went silent (a lost link) must not hold its locks for long.
      idle_in_transaction_session_timeout: Math.max(10_000, 5 * ms),
    },
    socket: watchedSockets(ms),
  };
}

type SocketOptions = { host: string[]; port: number[]; path: string | false; ssl?: unknown };

/**
 * Guard 3: the sockets postgres-js connects through (its documented `socket` option). A socket is
 * returned at once, still connecting (writes are buffered meanwhile; errors arrive as events, as
 * with postgres-js's own sockets). Each one drops itself when it has written and then received
 * nothing for `silenceMs`. Not under TLS: postgres-js then hands the socket to a TLS layer that
 * reads and writes it below what we can watch (guard 2 still bounds every wait; TCP keepalive
 * drops the connection eventually).
 */
export function watchedSockets(silenceMs: number): (options: SocketOptions) => Socket {
  let next = 0;
  return (options) => {
    let socket: Socket;
    if (options.path) {
      socket = connect(options.path);
    } else {
      const i = next++ % options.host.length;
      socket = connect(options.port[i] ?? options.port[0] ?? 5432, options.host[i]);
      // postgres-js names the address in its connection errors from these.
      Object.assign(socket, { host: options.host[i], port: options.port[i] ?? options.port[0] });
    }
    if (!options.ssl) watch(socket, silenceMs);
    return socket;
  };
}

function watch(socket: Socket, silenceMs: number): void {
  let waitingSince: number | null = null;
  let timer: NodeJS.Timeout | null = null;
  const disarm = () => {
    if (timer) clearTimeout(timer);
    timer = null;
  };
  const arm = (ms: number) => {
    timer = setTimeout(() => {
      timer = null;
      // Let bytes that already arrived be read first (the poll phase runs before setImmediate), so
      // a stalled event loop never passes for a silent server.
      setImmediate(() => {
        if (waitingSince === null || socket.destroyed) return;
        const left = waitingSince + silenceMs - Date.now();
        if (left > 0) arm(left);
        else socket.destroy(new DatabaseTimeoutError(silenceMs, 'connection'));
      });
    }, ms);
    timer.unref();
  };
  const write = socket.write;
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
    waitingSince ??= Date.now();
    if (!timer) arm(silenceMs);
    return write.apply(this, args);
  } as Socket['write'];
  // A listener of our own (postgres-js adds its own in the same tick, before any byte can arrive).
  socket.on('data', () => {
    waitingSince = null;
    disarm();
  });
  socket.once('close', disarm);
}

/** What the statements of one pool share: the bound, and how many were given up on but are still in the driver. */
type Bound = { ms: number; maxAbandoned: number; abandoned: number };

/**
 * Guard 2: the same `sql`, with every statement it runs (`unsafe`, tagged templates, inside
 * transactions and savepoints too) rejecting after `ms`. Drizzle's postgres-js session calls
 * `unsafe` and `begin`; everything else passes through untouched.
 *
 * A statement given up on stays in postgres-js until it settles (sent, it fails with its dropped
 * connection; queued, it waits for a connection). While `maxAbandoned` of them are still there,
 * new statements fail at once instead of queueing behind them: during an outage no request pays
 * the whole bound, the queue (and memory) stays bounded, and no backlog of statements whose
 * callers are gone runs against a database that just came back. It closes by itself as they settle.
 */
export function boundedSql(sql: Sql, ms: number, options: { maxAbandoned?: number } = {}): Sql {
  const bound: Bound = { ms, maxAbandoned: options.maxAbandoned ?? 100, abandoned: 0 };
  return new Proxy(sql, {
    apply: (target, self, args) => bounded(Reflect.apply(target, self, args), bound),
    get(target, property, receiver) {
      if (property === 'unsafe') return (...args: Parameters<Sql['unsafe']>) => bounded(target.unsafe(...args), bound);
      if (property === 'begin') return boundedBegin(target, bound);
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/** A transaction's `sql`: bounded statements, accounted in `state`. */
function boundedTransaction(tx: TransactionSql, bound: Bound, state: TransactionState): TransactionSql {
  return new Proxy(tx, {
    apply: (target, self, args) => bounded(Reflect.apply(target, self, args), bound, state),
    get(target, property, receiver) {
      if (property === 'unsafe')
        return (...args: Parameters<Sql['unsafe']>) => bounded(target.unsafe(...args), bound, state);
      if (property === 'savepoint') {
        return (...args: unknown[]) => {
          const fn = args.pop() as (sp: TransactionSql) => unknown;
          return (target.savepoint as (...a: unknown[]) => Promise<unknown>)(...args, (sp: TransactionSql) =>
            fn(boundedTransaction(sp, bound, state)),
          );
        };
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}

/**
 * Runs `start` (which settles through `settle`) bounded: rejects after `bound.ms` with a
 * DatabaseTimeoutError of `phase`, counting the work as abandoned until it settles after all.
 * Sheds it (rejects at once, never starting it) while too many are abandoned, unless told not to.
 */
function withinBound<T>(
  bound: Bound,
  phase: 'statement' | 'begin',
  start: (settled: (outcome: { value: T } | { error: unknown }) => void) => void,
  shed = true,
): Promise<T> {
  if (shed && bound.abandoned >= bound.maxAbandoned) return Promise.reject(new DatabaseTimeoutError(bound.ms, 'shed'));
  return new Promise<T>((resolve, reject) => {
    let abandoned = false;
    const timer = setTimeout(() => {
      abandoned = true;
      bound.abandoned += 1;
      reject(new DatabaseTimeoutError(bound.ms, phase));
    }, bound.ms);
    start((outcome) => {
      clearTimeout(timer);
      if (abandoned) bound.abandoned -= 1;
      if ('value' in outcome) resolve(outcome.value);
      else reject(outcome.error as Error);
    });
  });
}

/**
 * One transaction's statements: the first that failed, and how many were made but not yet handed
 * to the transaction's connection (a query runs when first awaited).
 */
type TransactionState = { firstError: unknown; unsent: number };

/**
 * A postgres-js query (a lazy Promise subclass: it runs when first awaited) whose awaiting rejects
 * after the bound. Its own methods (`values()`, `raw()`…) return the query itself, so they keep
 * the bound. The statement is not cancelled (see the file comment): its late answer is ignored.
 * In a transaction (`tx`) it is never shed: it goes to the transaction's own connection, and one
 * that was not sent must not be passed over by the COMMIT behind it.
 */
function bounded<T>(query: T, bound: Bound, tx?: TransactionState): T {
  // sql('identifier') and fragments are not statements. A postgres-js query nested in another as a
  // fragment is a Promise all the same, never sent: in a transaction it would be counted as unsent
  // and fail the transaction at COMMIT (`boundedBegin`). Nothing here nests one (drizzle never does).
  if (!(query instanceof Promise)) return query;
  const original = query.then as Promise<unknown>['then'];
  let outcome: Promise<unknown> | undefined;
  if (tx) tx.unsent += 1;
  const settle = () =>
    (outcome ??= withinBound<unknown>(
      bound,
      'statement',
      (settled) => {
        if (tx) tx.unsent -= 1;
        original.call(
          query,
          (value) => settled({ value }),
          (error: unknown) => settled({ error }),
        );
      },
      !tx,
    ).catch((error: unknown) => {
      if (tx) tx.firstError ??= error;
      throw error;
    }));
  Object.defineProperty(query, 'then', {
    configurable: true,
    writable: true,
    value: (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) =>
      settle().then(onFulfilled, onRejected),
  });
  return query;
}

/**
 * What a statement fails with when its connection's session is over (closed by either side, or
 * ended by the server: admin or crash shutdown, idle-in-transaction timeout, a connection
 * failure). Not a statement the server cancelled, nor one our bound gave up on (its link may still
 * be open): after those the connection lives, and its transaction must be rolled back.
 */
const SESSION_ENDED = new Set([
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  '57P01',
  '57P02',
  '25P03',
  '08000',
  '08003',
  '08006',
]);

/** Whether `error` (or what it wraps: drizzle wraps the driver's) says the connection's session is over. */
function sessionEnded(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof DatabaseTimeoutError) {
      if (e.phase === 'connection') return true; // guard 3 dropped the connection
      continue;
    }
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SESSION_ENDED.has(code)) return true;
  }
  return false;
}

/**
 * `sql.begin(fn)` bounded in its two waits on the server: BEGIN (including waiting for a free
 * connection) and COMMIT. The statements `fn` runs are bounded one by one, and every one it made is
 * sent before COMMIT (whose answer may then bring its own: see src/services/write.ts). When `fn` fails, the
 * caller gets its error at once (nothing was committed); the ROLLBACK goes on behind, and the
 * connection returns to the pool when it is done (or is dropped with its link, guard 3). When a
 * statement of it failed because the session is over, nothing goes on behind (see `sessionEnded`).
 * A BEGIN that completes after the bound runs nothing: the transaction is rolled back at once.
 */
function boundedBegin(sql: Sql, bound: Bound) {
  return (...args: unknown[]): Promise<unknown> => {
    const fn = args.pop() as (tx: TransactionSql) => unknown;
    const options = (args[0] as string | undefined) ?? '';
    if (bound.abandoned >= bound.maxAbandoned) return Promise.reject(new DatabaseTimeoutError(bound.ms, 'shed'));
    return new Promise((resolve, reject) => {
      let late = false;
      let abandoned = false;
      const giveUp = (phase: 'begin' | 'commit') => () => {
        if (phase === 'begin') late = true;
        abandoned = true;
        bound.abandoned += 1;
        reject(new DatabaseTimeoutError(bound.ms, phase));
      };
      let timer = setTimeout(giveUp('begin'), bound.ms);
      const state: TransactionState = { firstError: undefined, unsent: 0 };
      const run = async (tx: TransactionSql) => {
        clearTimeout(timer);
        if (late) throw new DatabaseTimeoutError(bound.ms, 'begin');
        let result: unknown;
        try {
          result = await fn(boundedTransaction(tx, bound, state));
          // A statement `fn` made but did not wait for (a write's invalidation record, answered
          // with COMMIT) is handed to the connection a few microtasks after it was made: it goes
          // out before the COMMIT that postgres-js sends once this returns, or the transaction fails.
          for (let turns = 0; state.unsent > 0; turns++) {
            if (turns >= 100) throw new Error('a statement of the transaction was not sent before its COMMIT');
            await Promise.resolve();
          }
        } catch (error) {
          const { firstError } = state;
          // As postgres-js does: "current transaction is aborted" (25P02) reports what aborted it.
          reject((error as { code?: unknown }).code === '25P02' && firstError !== undefined ? firstError : error);
          // The session is gone (Postgres rolled the transaction back as it ended): postgres-js would
          // now write its ROLLBACK to the closed connection, and 3.4 throws that write where nothing
          // can catch it, which ends the process (porsager/postgres#1154). So `fn` never settles for
          // postgres-js: it sends nothing more, and its `begin` settles through the connection's close.
          // Judged by this transaction's own statements only: an error from other I/O `fn` did
          // must not leave a live connection in its transaction, holding its locks.
          if (sessionEnded(firstError)) return new Promise<never>(() => {});
          throw error;
        }
        timer = setTimeout(giveUp('commit'), bound.ms);
        return result;
      };
      const settled = () => {
        clearTimeout(timer);
        if (abandoned) bound.abandoned -= 1;
      };
      sql.begin(options, run).then(
        (value) => {
          settled();
          resolve(value);
        },
        (error: unknown) => {
          settled();
          reject(error as Error);
        },
      );
    });
  };
}
