/**
 * A client of the balancer over real HTTP (node:http, keep-alive), from a loopback address of its
 * choosing: the whole of 127.0.0.0/8 is loopback on Linux, so a client at 127.0.0.2 is told apart
 * from HAProxy, which reaches the instances from 127.0.0.1.
 */
import { Agent, request } from 'node:http';

export type Answer = {
  status: number;
  /** Which instance answered (its `x-instance` header). */
  instance: number;
  cache: string | undefined;
  cacheControl: string | undefined;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; extensions?: { code?: string } }[];
  };
};

export type Ask = {
  query: string;
  variables?: Record<string, unknown>;
  token?: string;
  /** What the client claims in X-Forwarded-For (a forgery the balancer must not let through). */
  forwardedFor?: string;
};

const agents = new Map<string, Agent>();
const agentFor = (from: string) => {
  let agent = agents.get(from);
  if (!agent) {
    agent = new Agent({ keepAlive: true, maxSockets: 32 });
    agents.set(from, agent);
  }
  return agent;
};

export function closeAgents(): void {
  for (const agent of agents.values()) agent.destroy();
  agents.clear();
}

/** POSTs one GraphQL request to `base` (the balancer) from `from`. */
export function ask(base: string, q: Ask, from = '127.0.0.2'): Promise<Answer> {
  const url = new URL('/graphql', base);
  const payload = JSON.stringify({ query: q.query, variables: q.variables ?? {} });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        agent: agentFor(from),
        localAddress: from,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...(q.token ? { authorization: `Bearer ${q.token}` } : {}),
          ...(q.forwardedFor ? { 'x-forwarded-for': q.forwardedFor } : {}),
        },
        timeout: 20_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const header = (name: string) => {
            const v = res.headers[name];
            return Array.isArray(v) ? v.join(', ') : v;
          };
          try {
            resolve({
              status: res.statusCode ?? 0,
              instance: Number(header('x-instance') ?? -1),
              cache: header('x-cache'),
              cacheControl: header('cache-control'),
              body: JSON.parse(text) as Answer['body'],
            });
          } catch {
            reject(new Error(`not JSON (status ${res.statusCode}): ${text.slice(0, 300)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(payload);
  });
}
