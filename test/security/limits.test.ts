/**
 * Every limit answers with a clear code, one explicit case each, through the front door: the
 * graphql-armor limits (depth, aliases, directives, tokens, cost: each its own code, HTTP 400), graphql-js's own validation
 * budgets, batching (off: yoga refuses arrays), and the body size (413 on both of the front door's
 * faces, whichever the path, with the response cache on or off).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { createFrontDoor, MAX_BODY_BYTES } from '../../src/http/front-door.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

let database: Database;
let c: CachedApp;
let server: Server;
let base = '';

beforeAll(async () => {
  database = await openTestDatabase();
  c = await cachedApp(database, { backend: 'memory', cacheDebug: false });
  server = createServer(c.front.listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await database?.close();
});

type Answer = { status: number; body: { data?: unknown; errors?: { message: string; extensions?: any }[] } };

async function post(query: string, accept = 'application/json'): Promise<Answer> {
  const response = await c.front.fetch('http://kitvault.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept },
    body: JSON.stringify({ query }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

async function get(query: string): Promise<Answer> {
  const response = await c.front.fetch(`http://kitvault.test/graphql?query=${encodeURIComponent(query)}`, {
    headers: { accept: 'application/json' },
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

/** `club { kits(first: 1) { edges { node { … } } } }` n times: deep, but cheap (first: 1). */
function deep(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels; i++) inner = `club { kits(first: 1) { edges { node { ${inner} } } } }`;
  return `{ kit(id: 1) { ${inner} } }`;
}

const LIMITS = [
  {
    limit: 'depth (maxDepth 12)',
    query: deep(3), // 1 + 4 × 3 + 1 = 14 levels
    code: 'QUERY_TOO_DEEP',
    message: /^Query depth limit of 12 exceeded, found \d+\.$/,
  },
  {
    limit: 'aliases (maxAliases 30)',
    query: `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: brands { id }`).join(' ')} }`,
    code: 'TOO_MANY_ALIASES',
    message: /^Aliases limit of 30 exceeded, found 31\.$/,
  },
  {
    limit: 'directives (maxDirectives 30)',
    query: `{ brands { ${'id @include(if: true) '.repeat(31)}} }`,
    code: 'TOO_MANY_DIRECTIVES',
    message: /^Directives limit of 30 exceeded, found 31\.$/,
  },
  {
    limit: 'tokens (maxTokens 2000)',
    query: `{ brands { ${'id '.repeat(2100)}} }`,
    code: 'TOO_MANY_TOKENS',
    message: /^Token limit of 2000 exceeded\.$/,
  },
  {
    limit: 'cost (maxCost 20000)',
    query: '{ kits(first: 100) { edges { node { club { kits(first: 100) { totalCount } } } } } }',
    code: 'QUERY_TOO_COMPLEX',
    message: /^Query Cost limit of 20000 exceeded, found [\d.]+\.$/,
  },
] as const;

describe('limits answer with a clear code', () => {
  it.each(LIMITS)('$limit: $code and HTTP 400, over POST and GET, for either media type', async (l) => {
    const answers = [await post(l.query), await get(l.query), await post(l.query, 'application/graphql-response+json')];
    for (const answer of answers) {
      // A refused document is the client's mistake: 400 whatever the client accepts (never 200, never 5xx).
      expect(answer.status).toBe(400);
      expect(answer.body.data).toBeUndefined();
      expect(answer.body.errors).toHaveLength(1);
      const [error] = answer.body.errors!;
      // Its own code, nothing else (no `http`, no stack).
      expect(error!.extensions).toEqual({ code: l.code });
      // The document parsed: it is refused for its size or shape, not for a syntax error.
      expect(error!.message).toMatch(l.message);
    }
  });

  it('just under each limit, the same shapes are answered', async () => {
    const under = [
      deep(2), // 10 levels
      `{ ${Array.from({ length: 30 }, (_, i) => `a${i}: brands { id }`).join(' ')} }`,
      `{ brands { ${'id @include(if: true) '.repeat(30)}} }`,
      '{ kits(first: 5) { edges { node { club { kits(first: 5) { totalCount } } } } } }',
    ];
    for (const query of under) {
      const answer = await post(query);
      expect(answer.body.errors, query.slice(0, 80)).toBeUndefined();
      expect(answer.status).toBe(200);
    }
    // ~1,930 tokens: a long list is the one way to get there without other limits stopping it first
    // (1,900 copies of one field trip graphql-js's overlap budget, below). Anonymous: the resolver
    // refuses it, after the limits let it through.
    const list = Array.from({ length: 1900 }, (_, i) => i + 1).join(' ');
    const tokens = await post(
      `mutation { createKit(input: { clubId: 1, seasonId: 1, brandId: 1, type: HOME, name: "x", primaryColour: "red", competitionIds: [${list}] }) { id } }`,
    );
    expect(tokens.body.errors?.map((e) => e.extensions?.code)).toEqual(['UNAUTHENTICATED']);
  });

  it("graphql-js's own budgets: an overlap check too costly to finish is GRAPHQL_VALIDATION_FAILED", async () => {
    // 1,100 copies of one field: the overlapping-fields rule gives up ("Validation aborted.") before
    // the token limit (2,000) is reached.
    const answer = await post(`{ brands { ${'id '.repeat(1100)}} }`);
    expect(answer.body.errors).toEqual([
      { message: 'Validation aborted.', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
    ]);
  });

  it('batching is off: an array of operations is 400 BAD_REQUEST "Batching is not supported."', async () => {
    const response = await c.front.fetch('http://kitvault.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify([{ query: '{ brands { id } }' }, { query: '{ seasons { id } }' }]),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      errors: [{ message: 'Batching is not supported.', extensions: { code: 'BAD_REQUEST' } }],
    });
  });

  // The front door bounds every body yoga gets, on both faces, with the response cache on or off
  // (yoga's own limit is off: it streamed every body through a byte counter).
  it(`a body over ${MAX_BODY_BYTES} bytes is 413 BAD_REQUEST on node:http, and the server goes on`, async () => {
    const big = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ brands { id } } #${'x'.repeat(MAX_BODY_BYTES)}` }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({
      errors: [{ message: `request body larger than ${MAX_BODY_BYTES} bytes`, extensions: { code: 'BAD_REQUEST' } }],
    });
    const after = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ brands { id } }' }),
      signal: AbortSignal.timeout(10_000),
    });
    expect(after.status).toBe(200);
  });

  it('a body over the limit is 413 on the fetch face too, on any path, and with the response cache off', async () => {
    const huge = JSON.stringify({ query: `{ brands { id } } #${'x'.repeat(MAX_BODY_BYTES)}` });
    const small = JSON.stringify({ query: '{ brands { id } }' });
    for (const front of [c.front, createFrontDoor(c.app, null)]) {
      for (const path of ['/graphql', '/elsewhere']) {
        const big = await front.fetch(`http://kitvault.test${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: huge,
        });
        expect(big.status).toBe(413);
        expect((await big.json()).errors[0].extensions.code).toBe('BAD_REQUEST');
      }
      const ok = await front.fetch('http://kitvault.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: small,
      });
      expect(ok.status).toBe(200);
    }
    // And on node:http with the response cache off (yoga alone would take up to 25 MB).
    const uncached = createServer(createFrontDoor(c.app, null).listener);
    await new Promise<void>((resolve) => uncached.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = uncached.address() as AddressInfo;
      for (const path of ['/graphql', '/elsewhere']) {
        const big = await fetch(`http://127.0.0.1:${port}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: huge,
          signal: AbortSignal.timeout(10_000),
        });
        expect(big.status).toBe(413);
      }
      const ok = await fetch(`http://127.0.0.1:${port}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: small,
        signal: AbortSignal.timeout(10_000),
      });
      expect(ok.status).toBe(200);
    } finally {
      await new Promise((resolve) => uncached.close(resolve));
    }
  });
});
