/**
 * Scaling out: three more processes of the measured build (both caches on, the scenario-2 server's
 * Redis prefix and database: one cache, one truth) behind HAProxy with deploy/haproxy/haproxy.cfg,
 * its listen address and servers given through the environment as docker compose gives them. The
 * instances run with TRUST_PROXY=1, as they would behind it. Scenarios 2h and 6h run the public hit
 * and the mixed workload through it, each right beside its one-process counterpart (2, 6).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Keys } from './keys.js';
import { metricValue, scrape } from './probes.js';
import { childEnv, freePort, start, waitReady, type Server } from './processes.js';
import { GRAPHQL_PATH, headers } from './scenarios.js';
import { BALANCED_POOL_SIZE, SERVER_NODE_FLAGS } from './servers.js';

/** Debian's place for it, or /usr/local; null: not installed (the balanced scenarios are then left out). */
export const HAPROXY_BINARY = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy'].find((p) => existsSync(p)) ?? null;

export type Balanced = {
  /** HAProxy: what the load generator talks to. */
  balancer: Server;
  instances: [Server, Server, Server];
};

export type BalancedSetup = {
  root: string;
  mainJs: string;
  databaseUrl: string;
  redisUrl: string;
  keys: Keys;
  logDir: string;
};

/** Starts the three instances and HAProxy; resolves once round robin has reached all three. */
export async function startBalanced(setup: BalancedSetup): Promise<Balanced> {
  if (!HAPROXY_BINARY) throw new Error('no haproxy binary (Debian: apt-get install haproxy)');
  const { root, mainJs, databaseUrl, redisUrl, keys, logDir } = setup;
  const ports = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const instance = (n: number, port: number) =>
    start({
      name: `balanced-server-${n}`,
      command: process.execPath,
      args: [...SERVER_NODE_FLAGS, mainJs],
      env: childEnv({
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        REDIS_PREFIX: keys.prefix,
        PORT: String(port),
        HOST: '127.0.0.1',
        RESPONSE_CACHE: 'on',
        ENTITY_CACHE: 'on',
        CACHE_DEBUG: 'off',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
        TRUST_PROXY: '1',
        // The three share the bench's Postgres connections (bench/servers.ts).
        DATABASE_POOL_SIZE: String(BALANCED_POOL_SIZE),
      }),
      cwd: root,
      logDir,
      port,
    });
  const instances: [Server, Server, Server] = [instance(1, ports[0]!), instance(2, ports[1]!), instance(3, ports[2]!)];
  await Promise.all(instances.map((s) => waitReady(s)));
  const balancer = start({
    name: 'haproxy',
    command: HAPROXY_BINARY,
    args: ['-db', '-f', path.join(root, 'deploy', 'haproxy', 'haproxy.cfg')],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      KV_LISTEN: `127.0.0.1:${ports[3]}`,
      KV_API_1: `127.0.0.1:${instances[0].port}`,
      KV_API_2: `127.0.0.1:${instances[1].port}`,
      KV_API_3: `127.0.0.1:${instances[2].port}`,
    },
    cwd: root,
    logDir,
    port: ports[3]!,
  });
  await waitReady(balancer);
  await reachesAll(balancer, instances);
  return { balancer, instances };
}

const DURATION_METRIC = 'kitvault_graphql_request_duration_seconds';

/** GraphQL requests an instance has answered (its duration histogram's count, over every label). */
async function answered(server: Server): Promise<number> {
  return metricValue(await scrape(server.port), `${DURATION_METRIC}_count`) ?? 0;
}

/** Round robin has sent requests to every instance (each passed its first health check). */
async function reachesAll(balancer: Server, instances: readonly Server[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  const before = await Promise.all(instances.map(answered));
  for (;;) {
    await Promise.all(
      Array.from({ length: 6 }, () =>
        fetch(`http://127.0.0.1:${balancer.port}${GRAPHQL_PATH}`, {
          method: 'POST',
          headers: headers(),
          body: JSON.stringify({ query: '{ __typename }' }),
          signal: AbortSignal.timeout(5000),
        }).then((r) => r.arrayBuffer()),
      ),
    );
    const after = await Promise.all(instances.map(answered));
    if (after.every((n, i) => n > before[i]!)) return;
    if (Date.now() > deadline) throw new Error('HAProxy does not reach all three instances');
    await new Promise((r) => setTimeout(r, 200));
  }
}
