/**
 * The edge's error classification: a database that cannot be reached or does not answer in time is
 * DATABASE_UNAVAILABLE (however the driver's error is wrapped), logged as a warning once per burst;
 * any other failure stays a masked INTERNAL_SERVER_ERROR, logged as an error.
 */
import { GraphQLError } from 'graphql';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { DatabaseTimeoutError } from '../../src/db/bounded.js';
import { isDatabaseUnavailable } from '../../src/errors.js';
import { createMaskError } from '../../src/http/mask-error.js';

type Line = { level: number; msg: string; suppressed?: number; cause?: { code?: string; message: string } };

function capture() {
  const lines: Line[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });
  return { lines, logger };
}

/** As a resolver's error reaches yoga's masking: a GraphQLError around drizzle's wrapper around the driver's error. */
function fieldError(driverError: unknown): GraphQLError {
  const drizzle = Object.assign(new Error('Failed query: select "id" from "kits" where "id" in ($1)\nparams: 12'), {
    name: 'DrizzleQueryError',
    cause: driverError,
  });
  return new GraphQLError(drizzle.message, { originalError: drizzle, path: ['club', 'kits'] });
}

const withCode = (code: string, message = `something ${code}`) => Object.assign(new Error(message), { code });

const UNAVAILABLE = [
  'ECONNREFUSED',
  'ECONNRESET',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '08000',
  '08001',
  '08006',
  '57P01',
  '57P02',
  '57P03',
  '57014',
];

describe('database unavailability at the edge', () => {
  it.each(UNAVAILABLE)('maps %s, wrapped or not, to DATABASE_UNAVAILABLE', (code) => {
    const { logger } = capture();
    const mask = createMaskError(logger);
    for (const error of [fieldError(withCode(code)), withCode(code), fieldError(fieldError(withCode(code)))]) {
      const masked = mask(error) as GraphQLError;
      expect(masked.message).toBe('The database is unavailable; try again shortly');
      expect(masked.extensions).toEqual({ code: 'DATABASE_UNAVAILABLE' });
    }
  });

  it('maps our own client-side timeout, and keeps the field path', () => {
    const { logger } = capture();
    const masked = createMaskError(logger)(fieldError(new DatabaseTimeoutError(2000, 'statement'))) as GraphQLError;
    expect(masked.extensions).toEqual({ code: 'DATABASE_UNAVAILABLE' });
    expect(masked.path).toEqual(['club', 'kits']);
    expect(isDatabaseUnavailable(new DatabaseTimeoutError(2000, 'commit'))).toBe(true);
  });

  it('leaves every other failure INTERNAL_SERVER_ERROR, masked and logged as an error', () => {
    const { logger, lines } = capture();
    const mask = createMaskError(logger);
    for (const error of [
      fieldError(withCode('23505')),
      fieldError(withCode('42P01')),
      fieldError(new Error('boom')),
      new TypeError('x is undefined'),
    ]) {
      const masked = mask(error) as GraphQLError;
      expect(masked.message).toBe('Internal server error');
      expect(masked.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    }
    expect(lines.filter((l) => l.level === 50)).toHaveLength(4);
  });

  it('logs an outage as one warning per burst, with its cause and no SQL', async () => {
    const { logger, lines } = capture();
    const mask = createMaskError(logger, { burstIntervalMs: 100 });
    for (let i = 0; i < 50; i++) mask(fieldError(withCode('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.5:5432')));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, msg: 'database unavailable', suppressed: 0 });
    expect(lines[0]!.cause).toEqual({ code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 10.0.0.5:5432' });
    expect(JSON.stringify(lines)).not.toMatch(/select/i);
    await new Promise((r) => setTimeout(r, 120));
    mask(fieldError(withCode('57P01')));
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({ level: 40, suppressed: 49 });
  });
});
