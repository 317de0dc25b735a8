/**
 * Logout reaches every instance: the instance that deleted a token publishes its hash on
 * `<prefix>tokens:revoked`, and every instance (itself included) evicts it from its token cache when
 * the message arrives. Subscribing takes a connection of its own (a subscribed connection can run no
 * other command), made here from the shared client's options (on a Cluster, a Cluster of its own:
 * PUBLISH reaches every node of a cluster, so one subscribed node hears every instance).
 *
 * Reach: the other instances' caches drop the token within the pub/sub delivery time. While this
 * instance's subscription is down, it cannot hear revocations: its token cache is emptied and keeps
 * entries for 1 s only until the subscription is back (and emptied again then), and a link lost
 * without anybody noticing is bounded by the token cache's own TTL (10 s).
 */
import { Cluster, type ClusterOptions, type Redis } from 'ioredis';
import type { TokenCache } from './token-cache.js';

export type RevocationSharing = {
  readonly channel: string;
  /** Resolves once subscribed, or after `readyTimeoutMs` if Redis does not answer (the cache stays degraded). */
  readonly ready: Promise<void>;
  close(): void;
};

export type RevocationOptions = {
  redis: Redis | Cluster;
  prefix: string;
  tokens: TokenCache;
  /** How publishing reaches Redis (the circuit breaker). */
  run?: <T>(call: () => Promise<T>) => Promise<T>;
  /** Told about a failed publish (counted, logged once per burst). */
  report(where: string, error: unknown): void;
  /** Told once per outage that the subscription is down (reconnection attempts are not failed commands). */
  warn(message: string, error: unknown): void;
  readyTimeoutMs?: number;
};

const TOKEN_HASH = /^[0-9a-f]{64}$/;

export function shareRevocations(options: RevocationOptions): RevocationSharing {
  const { redis, tokens, report, warn } = options;
  const run = options.run ?? ((call) => call());
  const channel = `${options.prefix}tokens:revoked`;

  tokens.broadcastWith(async (tokenHash) => {
    try {
      await run(() => redis.publish(channel, tokenHash));
    } catch (error) {
      // The token is deleted all the same; other instances stop vouching for it within their TTL.
      report('token_revocation', error);
    }
  });

  const retry = (times: number) => Math.min(times * 100, 2000);
  // On a Cluster the duplicate is a Cluster too: PUBLISH reaches every node, and ioredis keeps its
  // subscription on one node of its choice (moving it, and resubscribing, when that node goes).
  const clusterSubscriber: ClusterOptions = {
    lazyConnect: true,
    enableOfflineQueue: true,
    enableAutoPipelining: false,
    clusterRetryStrategy: retry,
  };
  const subscriber =
    redis instanceof Cluster
      ? redis.duplicate([], clusterSubscriber)
      : redis.duplicate({
          lazyConnect: true,
          enableOfflineQueue: true,
          enableAutoPipelining: false,
          autoResubscribe: false,
          maxRetriesPerRequest: null,
          retryStrategy: retry,
        });
  let up = false;
  let closed = false;
  let warned = false;
  const down = (error: unknown) => {
    if (warned || closed) return;
    warned = true;
    warn('token revocations from other instances cannot be received: token cache entries live 1 s meanwhile', error);
  };
  let markReady = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
    setTimeout(resolve, options.readyTimeoutMs ?? 2000).unref();
  });
  subscriber.on('message', (from: string, tokenHash: string) => {
    if (from === channel && TOKEN_HASH.test(tokenHash)) tokens.forget(tokenHash);
  });
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(
      () => {
        if (closed) return;
        up = true;
        warned = false;
        tokens.subscribed(true);
        markReady();
      },
      (error: unknown) => down(error),
    );
  });
  subscriber.on('close', () => {
    if (up) tokens.subscribed(false);
    up = false;
  });
  subscriber.on('error', (error: unknown) => down(error));
  subscriber.connect().catch(() => {}); // reported through 'error'; it keeps retrying

  return {
    channel,
    ready,
    close() {
      closed = true;
      subscriber.disconnect();
    },
  };
}
