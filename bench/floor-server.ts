/**
 * The floor: a bare node:http server that answers every POST with one Redis GET of a fixed key
 * (the bytes our server answers for the bench's public catalogue query, SET there by the bench).
 * No GraphQL, no parsing: what a cache hit would cost if the server did nothing else.
 *
 * Env: PORT, HOST (127.0.0.1), REDIS_URL, FLOOR_KEY, FLOOR_CONTENT_TYPE.
 * Run: node --import tsx bench/floor-server.ts (the bench starts it; it exits when its stdin closes).
 */
import { Redis } from 'ioredis';
import { serveChild } from './child-server.js';

const key = process.env.FLOOR_KEY ?? 'kvbench:floor';
const contentType = process.env.FLOOR_CONTENT_TYPE ?? 'application/json; charset=utf-8';
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });

serveChild({
  name: 'floor',
  handle: (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    // Read the request through, as a real server must, then one GET.
    req.on('data', () => {});
    req.on('end', () => {
      redis.getBuffer(key).then(
        (body) => {
          if (!body) {
            res.writeHead(500, { 'content-type': 'text/plain' }).end('floor key missing');
            return;
          }
          res.writeHead(200, { 'content-type': contentType, 'content-length': body.length }).end(body);
        },
        (error: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
        },
      );
    });
  },
  close: async () => {
    await redis.quit().catch(() => redis.disconnect());
  },
});
