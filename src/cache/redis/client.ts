/**
 * The ioredis client both cache levels share. It fails fast rather than queueing: a command that
 * cannot be sent, or gets no answer within REDIS_TIMEOUT_MS, rejects, and the caller falls back to
 * the database. Auto-pipelining batches the commands of concurrent requests into one round trip.
 */
import { Redis } from 'ioredis';

export type RedisOptions = { url: string; timeoutMs: number };

export function createRedis({ url, timeoutMs }: RedisOptions): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
    // Keep trying to come back, at most every 2 s; requests meanwhile go to the database.
    retryStrategy: (times) => Math.min(times * 100, 2000),
  });
  // Errors are reported where commands fail (and counted there); this only keeps the process alive.
  redis.on('error', () => {});
  return redis;
}

/** Connects, but never fails start-up: a Redis that is down now is a Redis that is down later. */
export async function connectRedis(redis: Redis): Promise<Error | null> {
  try {
    await redis.connect();
    return null;
  } catch (error) {
    return error as Error;
  }
}
