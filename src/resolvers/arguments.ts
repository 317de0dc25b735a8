/**
 * Client-supplied ids, cursors and page sizes, checked at the edge: anything malformed is a
 * BAD_USER_INPUT naming the argument, never a database error.
 */
import { badInput } from '../errors.js';

const MAX_ID = 2_147_483_647;

/** IDs are positive integers (as strings or numbers) that fit in a Postgres `integer`. */
export function parseId(raw: unknown, field: string): number {
  const text = typeof raw === 'number' ? String(raw) : raw;
  if (typeof text !== 'string' || !/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > MAX_ID) {
    throw badInput(`${field} is not a valid id`, field);
  }
  return Number(text);
}

export const parseOptionalId = (raw: unknown, field: string): number | undefined =>
  raw === undefined || raw === null ? undefined : parseId(raw, field);

export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

/** `first` defaults to 20 and is capped at 100; a negative one is the client's mistake. */
export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return DEFAULT_PAGE;
  if (first < 0) throw badInput('first must not be negative', 'first');
  return Math.min(first, MAX_PAGE);
}

/** Cursors are opaque to clients: base64url of a small JSON array. */
export const encodeCursor = (parts: readonly (string | number)[]): string =>
  Buffer.from(JSON.stringify(parts)).toString('base64url');

export function decodeCursor(
  raw: string | null | undefined,
  shape: readonly ('string' | 'number')[],
): (string | number)[] | null {
  if (raw === null || raw === undefined) return null;
  let parts: unknown;
  try {
    if (raw.length > 512) throw new Error('too long');
    parts = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badInput('after is not a cursor this API issued', 'after');
  }
  const ok =
    Array.isArray(parts) &&
    parts.length === shape.length &&
    parts.every((p, i) => typeof p === shape[i] && (typeof p !== 'number' || Number.isSafeInteger(p)));
  if (!ok) throw badInput('after is not a cursor this API issued', 'after');
  return parts as (string | number)[];
}
