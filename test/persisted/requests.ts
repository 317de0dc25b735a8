/**
 * Requests as a persisted-query client sends them, through the front door (lean hit, then yoga),
 * over GET (parameters in the URL, JSON-encoded) or POST (a JSON body).
 */
import { createHash } from 'node:crypto';
import type { Plugin } from 'graphql-yoga';
import type { RedisClient } from '../../src/cache/redis/client.js';
import { vi } from 'vitest';
import type { AppContext } from '../../src/context.js';
import type { FrontDoor } from '../../src/http/front-door.js';

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export type Answer = {
  status: number;
  cache: string | null;
  body: {
    data?: Record<string, any> | null;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
    extensions?: Record<string, any>;
  };
};

export type Params = {
  query?: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  extensions?: Record<string, unknown>;
  documentId?: string;
};

export const apq = (hash: string, version: unknown = 1) => ({ persistedQuery: { version, sha256Hash: hash } });

export const JSON_ONLY = 'application/json';
export const GRAPHQL_RESPONSE = 'application/graphql-response+json, application/json;q=0.9';

export async function ask(
  front: FrontDoor,
  method: 'GET' | 'POST',
  params: Params,
  accept = GRAPHQL_RESPONSE,
): Promise<Answer> {
  let response: Response;
  if (method === 'GET') {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(params))
      if (value !== undefined) search.set(name, typeof value === 'string' ? value : JSON.stringify(value));
    response = await front.fetch(`http://kitvault.test/graphql?${search}`, { headers: { accept } });
  } else {
    response = await front.fetch('http://kitvault.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept },
      body: JSON.stringify(params),
    });
  }
  return {
    status: response.status,
    cache: response.headers.get('x-cache'),
    body: (await response.json()) as Answer['body'],
  };
}

export const codeOf = (answer: Answer) => answer.body.errors?.[0]?.extensions?.code;

/** Counts the requests yoga sees (the lean hit answers without yoga): pass `plugin` in the app's plugins. */
export function yogaRequests(): { plugin: Plugin<AppContext>; count(): number; reset(): void } {
  let seen = 0;
  return {
    plugin: {
      onRequest() {
        seen += 1;
      },
    },
    count: () => seen,
    reset: () => {
      seen = 0;
    },
  };
}

/**
 * The names of the Redis commands sent while `work` runs, once every write it started has landed.
 * Counted at `sendCommand`, which ioredis calls once per command, also when it auto-pipelines them.
 */
export function redisCommands(redis: RedisClient) {
  const sent = vi.spyOn(redis, 'sendCommand');
  return {
    async during(caches: { settled(): Promise<void> }, work: () => Promise<unknown>): Promise<string[]> {
      await caches.settled();
      sent.mockClear();
      await work();
      await caches.settled();
      return sent.mock.calls.map(([command]) => command.name.toLowerCase());
    },
    restore: () => sent.mockRestore(),
  };
}
