/**
 * The fault benchmark's TCP proxies, as a child process of the bench (so that forwarding every Redis
 * and Postgres byte of the server under test does not run on the event loop where autocannon
 * measures latency): one proxy in front of Redis, one in front of Postgres, each on a free loopback
 * port, and a small control API on loopback port PORT:
 *
 *   GET  /ready                        200 once both proxies listen
 *   GET  /state                        { redis: { port, mode, connections }, postgres: { … } }
 *   POST /redis/cut | hold | heal      (the same for /postgres/…): answers the new state
 *
 * Env: PORT, REDIS_TARGET and POSTGRES_TARGET (host:port). SIGTERM/SIGINT close every connection
 * and exit; the bench stops this process by its process group like every other child.
 */
import { createServer } from 'node:http';
import { startTcpProxy, type TcpProxy } from '../test/helpers/tcp-proxy.js';

function target(name: string): { host: string; port: number } {
  const value = process.env[name];
  const match = value ? /^\[?([^\]]+?)\]?:(\d+)$/.exec(value) : null;
  if (!match) throw new Error(`${name} must be host:port, got ${String(value)}`);
  return { host: match[1]!, port: Number(match[2]) };
}

const proxies: Record<'redis' | 'postgres', TcpProxy> = {
  redis: await startTcpProxy(target('REDIS_TARGET')),
  postgres: await startTcpProxy(target('POSTGRES_TARGET')),
};

const state = () =>
  Object.fromEntries(
    Object.entries(proxies).map(([name, p]) => [name, { port: p.port, mode: p.mode, connections: p.connections }]),
  );

const control = createServer((req, res) => {
  const reply = (status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (req.method === 'GET' && (url.pathname === '/ready' || url.pathname === '/state')) return reply(200, state());
  const match = /^\/(redis|postgres)\/(cut|hold|heal)$/.exec(url.pathname);
  if (req.method !== 'POST' || !match) return reply(404, { error: `no ${req.method} ${url.pathname}` });
  const proxy = proxies[match[1] as 'redis' | 'postgres'];
  const action = match[2] as 'cut' | 'hold' | 'heal';
  proxy[action]();
  console.log(`${new Date().toISOString()} ${match[1]} ${action}`);
  reply(200, state());
});
control.listen(Number(process.env.PORT), '127.0.0.1');

let closing = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (closing) return;
    closing = true;
    control.close();
    control.closeAllConnections();
    void Promise.all(Object.values(proxies).map((p) => p.close())).finally(() => process.exit(0));
  });
}
console.log(`proxies: redis :${proxies.redis.port}, postgres :${proxies.postgres.port}; control :${process.env.PORT}`);
