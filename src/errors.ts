/**
 * Typed errors the domain throws. They carry a stable code and a message safe for clients; the
 * HTTP edge (src/http/mask-error.ts) turns them into GraphQL errors once. Anything else that escapes
 * is an internal error and is masked there. This module knows nothing of GraphQL on purpose.
 */
export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'BAD_USER_INPUT' | 'RATE_LIMITED';

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

/** The SQLSTATE of a database error, looking through drizzle's wrapper. */
export function sqlState(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}
