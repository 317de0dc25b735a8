/**
 * Redis errors are counted every time and logged once per burst: the first error of a burst is
 * logged with its cause, then at most one summary line per interval while they keep coming.
 */
import type { CacheCounters } from '../counters.js';

export type RedisErrorReporter = (where: string, error: unknown) => void;

/** What the reporter needs of a logger (pino's shape), so the cache layer depends on no logging module. */
export type WarningLogger = { warn(fields: Record<string, unknown>, message: string): void };

export function createRedisErrorReporter(
  logger: WarningLogger,
  counters: CacheCounters,
  intervalMs = 10_000,
): RedisErrorReporter {
  let windowStart = 0;
  let suppressed = 0;
  return (where, error) => {
    counters.inc('redis_error', where);
    const now = Date.now();
    if (now - windowStart >= intervalMs) {
      const message = error instanceof Error ? error.message : String(error);
      logger.warn({ where, suppressed, err: message }, 'redis unavailable: serving from the database');
      windowStart = now;
      suppressed = 0;
    } else {
      suppressed += 1;
    }
  };
}
