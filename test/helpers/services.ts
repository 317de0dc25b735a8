/**
 * How tests find their services, the same everywhere: TEST_DATABASE_URL / TEST_REDIS_URL, else the
 * local servers when they answer, else PGlite and in-memory stores. With CI=true an absent service
 * fails the run instead (global-setup.ts).
 */
import { Cluster, Redis } from 'ioredis';
import postgres from 'postgres';

export const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/postgres';
export const DEFAULT_REDIS = 'redis://127.0.0.1:6379';

export const pgUrl = () => process.env.TEST_DATABASE_URL || DEFAULT_PG;
export const redisUrl = () => process.env.TEST_REDIS_URL || DEFAULT_REDIS;

export async function postgresAnswers(url: string): Promise<string | null> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

export async function redisAnswers(url: string): Promise<string | null> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    redis.disconnect();
  }
}

/** Null once a Redis Cluster at these `host:port` seeds has its slots loaded and says ok. */
export async function clusterAnswers(seeds: string[]): Promise<string | null> {
  const cluster = new Cluster(seeds.map(hostPort), {
    lazyConnect: true,
    clusterRetryStrategy: () => null,
    redisOptions: { connectTimeout: 2000, maxRetriesPerRequest: 0 },
  });
  cluster.on('error', () => {});
  let timer: NodeJS.Timeout | undefined;
  // ioredis' connect() may never settle when the cluster's ready check fails: bound the wait.
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('not ready within 5 s')), 5000);
  });
  try {
    await Promise.race([cluster.connect(), late]);
    await cluster.ping();
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    clearTimeout(timer);
    cluster.disconnect();
  }
}

/** `host:port` as ioredis takes a node. */
export function hostPort(seed: string): { host: string; port: number } {
  const at = seed.lastIndexOf(':');
  return { host: seed.slice(0, at), port: Number(seed.slice(at + 1)) };
}

/** `postgres://…/name` with the database name replaced. */
export function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}
