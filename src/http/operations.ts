/**
 * Operational endpoints beside /graphql: GET /metrics (Prometheus text) and GET /ready (readiness:
 * Postgres and Redis answer). Readiness is cached for a couple of seconds so probes cannot load
 * them; a failing part is named in a 503. Liveness is yoga's own /health.
 */
import type { Redis } from 'ioredis';
import type { Plugin } from 'graphql-yoga';
import type { Metrics } from '../observability/metrics.js';
import { withTimeout } from '../timeout.js';

export type ReadinessDeps = {
  pingDatabase(): Promise<void>;
  redis: Redis | null;
  timeoutMs: number;
  cacheMs?: number;
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
        checks[name] = `failing: ${(error as Error).message}`;
      }
    };
    await Promise.all([
      probe('postgres', deps.pingDatabase),
      deps.redis ? probe('redis', () => deps.redis!.ping()) : Promise.resolve((checks.redis = 'not configured')),
    ]);
    return { ready: Object.values(checks).every((v) => !v.startsWith('failing')), checks };
  }
  return (): Promise<Readiness> => {
    const now = Date.now();
    if (!cached || now - cached.at > (deps.cacheMs ?? 2000)) cached = { at: now, value: check() };
    return cached.value;
  };
}

export function operationsPlugin(metrics: Metrics | null, readiness: () => Promise<Readiness>): Plugin {
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
      } else if (url.pathname === '/metrics' && metrics) {
        endResponse(
          new fetchAPI.Response(await metrics.registry.metrics(), {
            headers: { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' },
          }),
        );
      }
    },
  };
}
