/**
 * API instances for the balancer test, each a real node:http server on its own free loopback port
 * with the front door main.ts mounts (lean hit, then yoga), both cache levels in the run's Redis
 * under one shared key prefix, its own Redis connection and its own Postgres pool on the test's
 * database, the followers main.ts starts, and TRUST_PROXY=1 (HAProxy in front).
 *
 * In-process rather than child processes of src/main.ts: the code path is main.ts's (buildCaches,
 * createApp, createFrontDoor's node listener), but the test can hold a resolver at a chosen moment
 * (the race the stale-read check needs), read each instance's counters, and three instances cost
 * one process on a two-core machine. The bench runs the built main.js as processes behind HAProxy.
 *
 * Every answer carries `x-instance: <n>` and each instance counts its /graphql requests, so a test
 * can prove that its reads reached every instance.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { openDatabase, type Database } from '../../src/db/client.js';
import { cachedApp, testRedis, type CachedApp } from '../helpers/caches.js';

export type Instance = {
  readonly index: number;
  /** host:port, as the balancer's config wants it. */
  readonly address: string;
  readonly c: CachedApp;
  /** /graphql requests answered so far. */
  graphqlRequests: number;
  close(): Promise<void>;
};

export type InstanceOptions = {
  databaseUrl: string;
  prefix: string;
  /** Failed sign-ins per client address (LOGIN_MAX_ATTEMPTS_PER_ADDRESS). */
  loginMaxAttemptsPerAddress: number;
};

async function startInstance(index: number, options: InstanceOptions): Promise<Instance> {
  const redis: RedisClient = testRedis();
  const database: Database = await openDatabase({ url: options.databaseUrl, maxConnections: 5 });
  const c = await cachedApp(database, {
    backend: 'redis',
    redis,
    prefix: options.prefix,
    entityCache: true,
    cacheDebug: false,
    responseGraceSeconds: 30,
    trustProxy: 1,
    loginMaxAttemptsPerAddress: options.loginMaxAttemptsPerAddress,
    app: { trustProxy: 1 },
  });
  c.caches.followInvalidations();
  await c.caches.followChanges();
  const instance: Instance = {
    index,
    address: '',
    c,
    graphqlRequests: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await c.caches.settled();
      await c.caches.close();
      redis.disconnect();
      await database.close();
    },
  };
  const server: Server = createServer((req, res) => {
    // Set before the front door writes: node merges it with what writeHead sends.
    res.setHeader('x-instance', String(index));
    if ((req.url ?? '').startsWith('/graphql')) instance.graphqlRequests += 1;
    c.front.listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(instance, { address: `127.0.0.1:${port}` });
}

export async function startInstances(count: number, options: InstanceOptions): Promise<Instance[]> {
  const instances: Instance[] = [];
  // One after another: each catches up with the change log before it listens, as a process would.
  for (let i = 0; i < count; i++) instances.push(await startInstance(i, options));
  return instances;
}
