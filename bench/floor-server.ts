/**
 * The floor: a bare node:http server that answers every POST with one Redis GET of a fixed key
 * (the bytes our server answers for the bench's public catalogue query, SET there by the bench).
 * No GraphQL, no parsing: what a cache hit would cost if the server did nothing else.
 *
 * Env: PORT, HOST (127.0.0.1), REDIS_URL, FLOOR_KEY, FLOOR_CONTENT_TYPE.
 * Run: node --import tsx bench/floor-server.ts (the bench starts it; it exits when its stdin closes).
 */
import { createServer } from 'node:http';
import { Redis } from 'ioredis';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const key = process.env.FLOOR_KEY ?? 'kvbench:floor';
const contentType = process.env.FLOOR_CONTENT_TYPE ?? 'application/json; charset=utf-8';
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/ready') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
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
});

server.listen(port, host, () => {
  console.log(`floor listening on http://${host}:${port}`);
});

async function shutdown() {
  server.closeAllConnections();
  server.close();
  await redis.quit().catch(() => redis.disconnect());
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
// The bench holds our stdin open; when it goes away (even killed), so do we.
process.stdin.on('end', () => void shutdown());
process.stdin.on('error', () => void shutdown());
process.stdin.resume();
