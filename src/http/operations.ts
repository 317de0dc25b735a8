/**
 * Operational endpoints beside /graphql: GET /metrics (Prometheus text) and GET /ready (readiness:
 * Postgres and Redis answer). Readiness is cached for a couple of seconds so probes cannot load
 * them; a failing part is named in a 503 (`"redis":"failing"`: the cause goes to the log, never to
 * the client). Liveness is yoga's own /health.
 *
 * /metrics can be protected: with a token (METRICS_TOKEN) it answers only `Authorization: Bearer
 * <token>` (compared in constant time), 401 otherwise; with a listener of its own (METRICS_PORT,
 * `metricsListener`) the main port answers 404 for it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Cluster, Redis } from 'ioredis';
import type { Plugin } from 'graphql-yoga';
import type { Metrics } from '../observability/metrics.js';
import { withTimeout } from '../timeout.js';

export const METRICS_PATH = '/metrics';

export type MetricsAccess = {
  /** When set, /metrics answers only `Authorization: Bearer <token>`, 401 otherwise. */
  token?: string | undefined;
  /** /metrics is served by `metricsListener` on a port of its own: the app answers 404 for it. */
  ownListener?: boolean | undefined;
};

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when no token is required, or the header carries it (constant time: both sides are hashed to one length). */
export function metricsAuthorised(authorization: string | null | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const given = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1] ?? '';
  return given.length > 0 && timingSafeEqual(digest(given), digest(token));
}

type Answer = { status: number; headers: Record<string, string>; body: string };

async function scrape(metrics: Metrics, authorization: string | null | undefined, token?: string): Promise<Answer> {
  if (!metricsAuthorised(authorization, token))
    return {
      status: 401,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'www-authenticate': 'Bearer realm="metrics"',
        'cache-control': 'no-store',
      },
      body: 'unauthorized\n',
    };
  return {
    status: 200,
    headers: { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' },
    body: await metrics.registry.metrics(),
  };
}

const notFound: Answer = { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' }, body: 'not found\n' };

/** A node:http listener serving only GET /metrics (METRICS_PORT); anything else is 404. */
export function metricsListener(metrics: Metrics, token?: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const answer =
      path === METRICS_PATH && (req.method === 'GET' || req.method === 'HEAD')
        ? scrape(metrics, req.headers.authorization, token)
        : Promise.resolve(notFound);
    answer.then(
      (a) => {
        res.writeHead(a.status, a.headers);
        res.end(a.body);
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('metrics failed\n');
      },
    );
  };
}

export type ReadinessDeps = {
  pingDatabase(): Promise<void>;
  redis: Redis | Cluster | null;
  timeoutMs: number;
  cacheMs?: number;
  /** Where a failing check's cause goes (the log): the answer names the part only, never the error's text. */
  onFailure?: (part: string, error: unknown) => void;
};

type Readiness = { ready: boolean; checks: Record<string, string> };

export function createReadiness(deps: ReadinessDeps) {
  let cached: { at: number; value: Promise<Readiness> } | null = null;
  async function check(): Promise<Readiness> {
    const checks: Record<string, string> = {};
    const probe = async (name: string, fn: () => Promise<unknown>) => {
      try {
        await withTimeout(fn(), deps.timeoutMs);
        checks[name] = 'ok';
      } catch (error) {
        checks[name] = 'failing';
        deps.onFailure?.(name, error);
      }
    };
    await Promise.all([
      probe('postgres', deps.pingDatabase),
      deps.redis ? probe('redis', () => deps.redis!.ping()) : Promise.resolve((checks.redis = 'not configured')),
    ]);
    return { ready: Object.values(checks).every((v) => v !== 'failing'), checks };
  }
  return (): Promise<Readiness> => {
    const now = Date.now();
    if (!cached || now - cached.at > (deps.cacheMs ?? 2000)) cached = { at: now, value: check() };
    return cached.value;
  };
}

export function operationsPlugin(
  metrics: Metrics | null,
  readiness: () => Promise<Readiness>,
  access: MetricsAccess = {},
): Plugin {
  return {
    async onRequest({ url, request, endResponse, fetchAPI }) {
      if (request.method !== 'GET' && request.method !== 'HEAD') return;
      if (url.pathname === '/ready') {
        const r = await readiness();
        endResponse(
          new fetchAPI.Response(JSON.stringify(r), {
            status: r.ready ? 200 : 503,
            headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
          }),
        );
      } else if (url.pathname === METRICS_PATH && metrics) {
        const a = access.ownListener
          ? notFound
          : await scrape(metrics, request.headers.get('authorization'), access.token);
        endResponse(new fetchAPI.Response(a.body, { status: a.status, headers: a.headers }));
      }
    },
  };
}
