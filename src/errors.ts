/**
 * Typed errors the domain throws. They carry a stable code and a message safe for clients; the
 * HTTP edge (src/http/mask-error.ts) turns them into GraphQL errors once. Anything else that escapes
 * is an internal error and is masked there. This module knows nothing of GraphQL on purpose.
 */
export type ErrorCode =
  'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'DATABASE_UNAVAILABLE' | 'RATE_LIMITED';

export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Extra, client-safe detail (e.g. which input field was wrong). */
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const unauthenticated = (message = 'sign in first: send Authorization: Bearer <token>') =>
  new AppError('UNAUTHENTICATED', message);
export const forbidden = (message = 'this needs the ADMIN role') => new AppError('FORBIDDEN', message);
export const notFound = (type: string, id: number | string) =>
  new AppError('NOT_FOUND', `${type} ${id} does not exist`, { type, id: String(id) });
export const badInput = (message: string, field?: string) =>
  new AppError('BAD_USER_INPUT', message, field ? { field } : {});
/** Too many failed sign-ins; the HTTP answer also carries `Retry-After` (src/http/retry-after.ts). */
export const rateLimited = (retryAfterSeconds: number) =>
  new AppError('RATE_LIMITED', `too many failed sign-ins; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });

export const DATABASE_UNAVAILABLE_MESSAGE = 'The database is unavailable; try again shortly';

/**
 * The errors of `e` and its causes, outermost first: drizzle wraps driver errors in `.cause`,
 * GraphQL wraps resolver errors in `.originalError`.
 */
export function* causes(error: unknown): Generator<object> {
  for (let e: unknown = error, depth = 0; e && typeof e === 'object' && depth < 8; depth++) {
    yield e;
    const { cause, originalError } = e as { cause?: unknown; originalError?: unknown };
    e = cause ?? originalError;
  }
}

/**
 * Codes that mean "the database could not be reached or did not answer in time", as opposed to a
 * fault of the statement or of our code:
 * - postgres-js: CONNECT_TIMEOUT, CONNECTION_CLOSED, CONNECTION_ENDED, CONNECTION_DESTROYED;
 * - the socket: ECONNREFUSED, ECONNRESET, ECONNABORTED, EPIPE, ETIMEDOUT, EHOSTUNREACH, EHOSTDOWN,
 *   ENETUNREACH, ENETDOWN, EAI_AGAIN (DNS, temporarily);
 * - ours: DATABASE_TIMEOUT (src/db/bounded.ts: no answer within DATABASE_TIMEOUT_MS);
 * - SQLSTATE: class 08 (connection exception), 57P01 admin shutdown, 57P02 crash shutdown,
 *   57P03 cannot connect now, 57014 query canceled (statement_timeout), 53300 too many
 *   connections, 25P03 idle-in-transaction timeout (the server ended a session whose client fell silent).
 */
const UNAVAILABLE = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'DATABASE_TIMEOUT',
  '57P01',
  '57P02',
  '57P03',
  '57014',
  '53300',
  '25P03',
]);

/** True when `error` (or one of its causes) says the database is unreachable or too slow. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (const e of causes(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  }
  return false;
}

/** Five digits or capitals: an SQLSTATE (a Node error code like `EPIPE` can look like one too). */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/** The SQLSTATE of a database error, looking through drizzle's wrapper. */
export function sqlState(error: unknown): string | undefined {
  for (const e of causes(error)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && SQLSTATE.test(code)) return code;
  }
  return undefined;
}

/**
 * Whether the database server itself answered `error` (an error response: an SQLSTATE with its
 * severity, as postgres-js and PGlite report them), as opposed to a failure on the way (a socket
 * error, a bound that ran out, the driver's own), whose statement may or may not have run.
 */
export function answeredByServer(error: unknown): boolean {
  for (const e of causes(error)) {
    const { code, severity } = e as { code?: unknown; severity?: unknown };
    if (typeof severity === 'string' && typeof code === 'string' && SQLSTATE.test(code)) return true;
  }
  return false;
}
