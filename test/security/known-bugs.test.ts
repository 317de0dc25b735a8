/**
 * Minimal reproductions of the bugs the hostile-input fuzz found (known-bugs.ts), each asserting the
 * RIGHT behaviour. They are `it.fails`: vitest reports them as expected failures while the bug is
 * there, and turns them red once it is fixed; then make them plain `it` and drop the bug's entry
 * from known-bugs.ts, so the fuzz stops tolerating it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { tokensFor } from '../helpers/app.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

let database: Database;
let c: CachedApp;
let server: Server;
let base = '';
let admin = '';

beforeAll(async () => {
  database = await openTestDatabase();
  c = await cachedApp(database, { backend: 'memory', cacheDebug: false });
  server = createServer(c.front.listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  admin = (await tokensFor(c.app, ['admin'])).get('admin')!.token;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await database?.close();
});

type Body = { data?: unknown; errors?: { message: string; extensions?: { code?: string } }[] };

async function viaFront(init: RequestInit & { url?: string }): Promise<{ status: number; body: Body }> {
  const response = await c.front.fetch(init.url ?? 'http://kitvault.test/graphql', init);
  return { status: response.status, body: (await response.json()) as Body };
}

const postJson = (query: string, token?: string) =>
  viaFront({
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query }),
  });

const codes = (body: Body) => body.errors?.map((e) => e.extensions?.code);

describe('FIXED BUG get-params-not-json: GET variables/extensions that are not JSON', () => {
  // Today: 200 {"errors":[{"message":"Internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]},
  // and the server logs a SyntaxError with its stack as an internal error, for any anonymous client.
  // Cause: yoga's GET (and urlencoded POST) parser JSON.parses them bare (no BAD_REQUEST wrapper,
  // unlike its POST JSON parser), and mask-error masks what is not a GraphQLError.
  const query = encodeURIComponent('{ brands { id } }');

  it('GET ?variables=abc should be 400 BAD_REQUEST', async () => {
    const answer = await viaFront({ url: `http://kitvault.test/graphql?query=${query}&variables=abc` });
    expect(answer.status).toBe(400);
    expect(codes(answer.body)).toEqual(['BAD_REQUEST']);
  });

  it('GET ?extensions=x should be 400 BAD_REQUEST', async () => {
    const answer = await viaFront({ url: `http://kitvault.test/graphql?query=${query}&extensions=x` });
    expect(answer.status).toBe(400);
    expect(codes(answer.body)).toEqual(['BAD_REQUEST']);
  });

  it('urlencoded POST variables=abc should be 400 BAD_REQUEST', async () => {
    const answer = await viaFront({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: `query=${query}&variables=abc`,
    });
    expect(answer.status).toBe(400);
    expect(codes(answer.body)).toEqual(['BAD_REQUEST']);
  });
});

describe('FIXED BUG deep-variables: variables nested thousands of levels deep', () => {
  // Today (this machine, vitest's worker stack): from ~8,000 levels (a ~50 KB body, anonymous) the
  // response cache key (fast-json-stable-stringify, recursive) overflows the stack: on a document the
  // lean hit knows, the front door itself throws — node:http answers 500 ("front door failed"),
  // `front.fetch` rejects; elsewhere the answer is 200 INTERNAL_SERVER_ERROR.
  const depths = [4_000, 8_000, 12_000, 20_000];
  const deepBody = (depth: number) =>
    `{"query":"{ brands { id } }","variables":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;

  it('should be a client error (4xx BAD_REQUEST / BAD_USER_INPUT), never 500, over node:http', async () => {
    // The document must be one the lean hit knows: run it once.
    await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ brands { id } }' }),
      signal: AbortSignal.timeout(10_000),
    });
    await c.caches.settled();
    for (const depth of depths) {
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: deepBody(depth),
        signal: AbortSignal.timeout(10_000),
      });
      const body = (await response.json()) as Body;
      expect(response.status, `depth ${depth}`).toBeLessThan(500);
      expect(codes(body) ?? [], `depth ${depth}`).not.toContain('INTERNAL_SERVER_ERROR');
    }
  });

  it('front.fetch should answer (not throw) with a client error', async () => {
    await postJson('{ brands { id } }');
    await c.caches.settled();
    for (const depth of depths) {
      const answer = await viaFront({
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: deepBody(depth),
      });
      expect(answer.status, `depth ${depth}`).toBeLessThan(500);
      expect(codes(answer.body) ?? [], `depth ${depth}`).not.toContain('INTERNAL_SERVER_ERROR');
    }
  });
});

describe('FIXED BUG nul-in-sql-string: U+0000 in a string argument that reaches SQL', () => {
  // Today: 200 with INTERNAL_SERVER_ERROR at the field's path; the log shows the whole SQL statement
  // and its parameters ("invalid byte sequence for encoding \"UTF8\": 0x00"). Postgres text cannot
  // hold NUL; the argument checks (zod, resolvers) let it through.
  it('search(text: "a\\u0000b") should be BAD_USER_INPUT', async () => {
    const answer = await postJson('{ search(text: "a\\u0000b") { __typename } }');
    expect(codes(answer.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('clubs(search: "a\\u0000b") should be BAD_USER_INPUT', async () => {
    const answer = await postJson('{ clubs(search: "a\\u0000b") { totalCount } }');
    expect(codes(answer.body)).toEqual(['BAD_USER_INPUT']);
  });

  it('login(username: "a\\u0000b") should be UNAUTHENTICATED (or BAD_USER_INPUT), anonymous', async () => {
    const answer = await postJson('mutation { login(username: "a\\u0000b", password: "x") { token } }');
    expect(['UNAUTHENTICATED', 'BAD_USER_INPUT']).toContain(codes(answer.body)?.[0]);
  });

  it('createBrand(input: { name: "a\\u0000b" }) should be BAD_USER_INPUT', async () => {
    const answer = await postJson('mutation { createBrand(input: { name: "a\\u0000b" }) { id } }', admin);
    expect(codes(answer.body)).toEqual(['BAD_USER_INPUT']);
  });
});
