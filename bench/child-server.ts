/**
 * What the bench's own servers (floor-server.ts, stock-server.ts, memory-server.ts) share: node:http
 * on PORT and HOST (default 127.0.0.1) with GET /ready and, when given, GET /metrics beside the app,
 * and an exit when the bench goes away (SIGTERM, SIGINT, or its stdin closing: the bench holds it
 * open, so even a killed bench takes its servers along).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

export type ChildServer = {
  /** Names the server in its "listening" log line. */
  name: string;
  /** Prometheus text for GET /metrics; absent: that request goes to `handle` too. */
  metrics?: () => string;
  /** Every other request. */
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Releases what the app holds (clients, pools) before the process exits. */
  close?: () => Promise<void>;
};

export function serveChild(options: ChildServer): void {
  const port = Number(process.env.PORT ?? 0);
  const host = process.env.HOST ?? '127.0.0.1';
  const { metrics } = options;
  const server = createServer((req, res) => {
    if (metrics && req.method === 'GET' && req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics());
      return;
    }
    if (req.method === 'GET' && req.url === '/ready') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    options.handle(req, res);
  });

  server.listen(port, host, () => {
    console.log(`${options.name} listening on http://${host}:${port}`);
  });

  let stopping = false;
  async function shutdown() {
    if (stopping) return;
    stopping = true;
    server.closeAllConnections();
    server.close();
    await options.close?.().catch(() => {});
    process.exit(0);
  }
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
  process.stdin.on('end', () => void shutdown());
  process.stdin.on('error', () => void shutdown());
  process.stdin.resume();
}

/**
 * The counters the bench reads from a server's /metrics (bench/probes.ts): SQL statements, and
 * response-cache lookups by result; null declares that family with no samples (no response cache).
 */
export function metricsText(sqlStatements: number, responseCache: { hits: number; misses: number } | null): string {
  return [
    '# HELP kitvault_sql_statements_total SQL statements sent to the database.',
    '# TYPE kitvault_sql_statements_total counter',
    `kitvault_sql_statements_total ${sqlStatements}`,
    '# HELP kitvault_response_cache_requests_total Response-cache lookups by result.',
    '# TYPE kitvault_response_cache_requests_total counter',
    ...(responseCache
      ? [
          `kitvault_response_cache_requests_total{result="hit"} ${responseCache.hits}`,
          `kitvault_response_cache_requests_total{result="miss"} ${responseCache.misses}`,
        ]
      : []),
    '',
  ].join('\n');
}
