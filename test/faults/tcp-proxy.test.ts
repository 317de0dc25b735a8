/** The fault-staging proxy itself, against the run's Redis: it forwards, holds, cuts and heals. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const url = inject('redisUrl');
const skip = url ? false : inject('redisAbsentReason');

describe('the TCP proxy of the fault tests', () => {
  let proxy: TcpProxy;
  let redis: Redis;
  beforeAll(async () => {
    if (!url) return;
    const u = new URL(url);
    proxy = await startTcpProxy({ host: u.hostname, port: Number(u.port || 6379) });
    redis = new Redis({
      host: '127.0.0.1',
      port: proxy.port,
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      commandTimeout: 300,
      retryStrategy: () => 50,
    });
    redis.on('error', () => {});
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await proxy?.close();
  });

  it.skipIf(skip)(
    `forwards, holds bytes without an error, delivers them on heal, and cuts${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      expect(await redis.ping()).toBe('PONG');
      proxy.hold();
      await expect(redis.ping()).rejects.toThrow(/timed out/i);
      proxy.heal();
      expect(await redis.ping()).toBe('PONG');
      proxy.cut();
      expect(proxy.connections).toBe(0);
      await expect(redis.ping()).rejects.toThrow();
      proxy.heal();
      await new Promise((r) => setTimeout(r, 300)); // ioredis reconnects by itself
      expect(await redis.ping()).toBe('PONG');
    },
  );
});
