/**
 * The ioredis client both cache levels share: one Redis (REDIS_URL) or a Redis Cluster
 * (REDIS_CLUSTER_NODES). Either way it fails fast rather than queueing: a command that cannot be
 * sent, or gets no answer within REDIS_TIMEOUT_MS, rejects, and the caller falls back to the
 * database. Auto-pipelining batches the commands of concurrent requests into one round trip (per
 * node on a Cluster).
 */
import { Cluster, Redis, type ClusterOptions } from 'ioredis';
import { ScriptingCluster } from './cluster.js';

/** Everything above this file takes either client; the stores keep to single-slot commands. */
export type RedisClient = Redis | Cluster;

export type ClusterNode = { host: string; port: number };

export type RedisOptions = { timeoutMs: number } & (
  { url: string; clusterNodes?: undefined } | { url?: undefined; clusterNodes: readonly ClusterNode[] }
);

/** Keep trying to come back, at most every 2 s; requests meanwhile go to the database. */
const reconnectDelay = (times: number) => Math.min(times * 100, 2000);

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

export function createRedis(options: RedisOptions): RedisClient {
  const { timeoutMs } = options;
  const perNode = {
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 1000),
  };
  const client: RedisClient = options.clusterNodes
    ? new ScriptingCluster([...options.clusterNodes], clusterOptions(timeoutMs, perNode))
    : new Redis(options.url, {
        ...perNode,
        lazyConnect: true,
        enableAutoPipelining: true,
        enableOfflineQueue: false,
        retryStrategy: reconnectDelay,
      });
  // Errors are reported where commands fail (and counted there); this only keeps the process alive.
  client.on('error', () => {});
  if (isCluster(client)) client.on('node error', () => {});
  return client;
}

function clusterOptions(timeoutMs: number, perNode: NonNullable<ClusterOptions['redisOptions']>): ClusterOptions {
  return {
    lazyConnect: true,
    enableAutoPipelining: true,
    // Before the slots are known a command rejects at once (the request goes to the database).
    enableOfflineQueue: false,
    redisOptions: perNode,
    // Every node answers for its own slots; replicas only stand by (a read from one could be stale).
    scaleReads: 'master',
    clusterRetryStrategy: reconnectDelay,
    // A few quick retries ride out a MOVED/ASK or a promotion in progress; the command timeout
    // (armed once, when a node first gets the command) still bounds the whole wait.
    maxRedirections: 4,
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: Math.max(timeoutMs, 1000),
  };
}

/**
 * Connects, but never fails start-up: a Redis that is down now is a Redis that is down later. A
 * Cluster counts as connected once its slots are loaded and CLUSTER INFO says ok; one that is not
 * within `readyTimeoutMs` is reported and keeps connecting in the background (ioredis' own
 * connect() may never settle when the cluster's ready check fails, so the wait is bounded here).
 */
export async function connectRedis(client: RedisClient, readyTimeoutMs = 10_000): Promise<Error | null> {
  if (!isCluster(client)) {
    try {
      await client.connect();
      return null;
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  }
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<Error | null>((resolve) => {
    client.once('ready', () => resolve(null));
    timer = setTimeout(
      () => resolve(new Error(`redis cluster not ready within ${readyTimeoutMs} ms (${client.status})`)),
      readyTimeoutMs,
    );
    timer.unref();
  });
  // A failed first attempt is retried by clusterRetryStrategy; 'ready' (or the timeout) decides.
  client.connect().catch(() => {});
  try {
    return await ready;
  } finally {
    clearTimeout(timer);
  }
}
