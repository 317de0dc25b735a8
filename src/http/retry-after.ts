/**
 * A result refused with RATE_LIMITED (src/errors.ts) answers with an HTTP `Retry-After` header too,
 * the longest wait any of its errors asks for (`extensions.retryAfterSeconds`).
 */
import type { Plugin } from 'graphql-yoga';

type Errors = readonly { extensions?: Record<string, unknown> }[] | undefined;

function retryAfterOf(result: unknown): number | undefined {
  const results = Array.isArray(result) ? result : [result];
  let seconds: number | undefined;
  for (const r of results) {
    for (const e of ((r as { errors?: Errors } | null)?.errors ?? []) as NonNullable<Errors>) {
      const s = e.extensions?.retryAfterSeconds;
      if (e.extensions?.code === 'RATE_LIMITED' && typeof s === 'number') seconds = Math.max(seconds ?? 0, s);
    }
  }
  return seconds;
}

export function retryAfterPlugin<Ctx extends object>(): Plugin<Ctx> {
  const waits = new WeakMap<Request, number>();
  return {
    onResultProcess({ request, result }) {
      const seconds = retryAfterOf(result);
      if (seconds !== undefined) waits.set(request, seconds);
    },
    onResponse({ request, response }) {
      const seconds = waits.get(request);
      if (seconds !== undefined) response.headers.set('retry-after', String(seconds));
    },
  };
}
