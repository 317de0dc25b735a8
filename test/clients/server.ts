/**
 * The real server for client-library tests: node:http on a loopback port with the front door
 * main.ts mounts (lean hit, then yoga), real Postgres, the Redis backend, production settings
 * (no cache debug). Every HTTP request is recorded with its method, status and `x-cache`, so a
 * test can say how many requests a client sent and how each was answered; `reachedYoga` counts
 * those the lean hit did not answer.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RedisClient } from '../../src/cache/redis/client.js';
import type { Plugin } from 'graphql-yoga';
import type { AppContext } from '../../src/context.js';
import type { TestDatabase } from '../helpers/database.js';
import { openTestDatabase } from '../helpers/database.js';
import { cachedApp, dropPrefix, newPrefix, testRedis, type CachedApp } from '../helpers/caches.js';

export type Exchange = {
  method: string;
  url: string;
  status: number;
  xCache: string | undefined;
  contentType: string | undefined;
};

export type TestServer = {
  url: string;
  c: CachedApp;
  /** Every request answered so far, oldest first. */
  exchanges: Exchange[];
  /** How many requests got past the lean hit into yoga. */
  reachedYoga: () => number;
  /** Forget what was recorded. */
  reset: () => void;
  close: () => Promise<void>;
};

export async function startServer(): Promise<TestServer> {
  const database: TestDatabase = await openTestDatabase();
  const redis: RedisClient = testRedis();
  const prefix = newPrefix();
  let yogaRequests = 0;
  const countYoga: Plugin<AppContext> = {
    onRequest: () => {
      yogaRequests += 1;
    },
  };
  const c = await cachedApp(database, {
    backend: 'redis',
    redis,
    prefix,
    cacheDebug: false,
    app: { plugins: [countYoga] },
  });
  const exchanges: Exchange[] = [];
  const server: Server = createServer((req, res) => {
    // With a header already set, node keeps what writeHead(status, headers) sends (the lean hit's
    // way) where getHeader reads it; otherwise it writes those headers straight out.
    res.setHeader('x-test-server', '1');
    res.on('finish', () => {
      const xCache = res.getHeader('x-cache');
      const contentType = res.getHeader('content-type');
      exchanges.push({
        method: req.method ?? '',
        url: req.url ?? '',
        status: res.statusCode,
        xCache: typeof xCache === 'string' ? xCache : undefined,
        contentType: typeof contentType === 'string' ? contentType : undefined,
      });
    });
    c.front.listener(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    c,
    exchanges,
    reachedYoga: () => yogaRequests,
    reset: () => {
      exchanges.length = 0;
      yogaRequests = 0;
    },
    close: async () => {
      await new Promise((resolve) => server.close(resolve));
      await c.caches.settled();
      await c.caches.close();
      await dropPrefix(redis, prefix);
      redis.disconnect();
      await database.close();
    },
  };
}
