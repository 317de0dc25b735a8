/**
 * What the log says about a request: a client's mistake (a refused document, bad input, an
 * unreadable request) is one line at info or warn, never at error; a server fault is at error.
 * pino writes into an array here, through the same app and front door main.ts mounts.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

type Line = { level: number; msg: string; codes?: string[]; err?: unknown };

const lines: Line[] = [];
const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Line) });

let database: Database;
let c: CachedApp;

beforeAll(async () => {
  database = await openTestDatabase();
  c = await cachedApp(database, { backend: 'memory', cacheDebug: false, app: { logger } });
});
afterAll(async () => {
  await database?.close();
});

function deep(levels: number): string {
  let inner = 'id';
  for (let i = 0; i < levels; i++) inner = `club { kits(first: 1) { edges { node { ${inner} } } } }`;
  return `{ kit(id: 1) { ${inner} } }`;
}

const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json' },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

/** One request per client mistake, and the code it is answered with. */
const MISTAKES: { mistake: string; code: string; url?: string; init: RequestInit }[] = [
  { mistake: 'too deep', code: 'QUERY_TOO_DEEP', init: json({ query: deep(3) }) },
  {
    mistake: 'too many aliases',
    code: 'TOO_MANY_ALIASES',
    init: json({ query: `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: brands { id }`).join(' ')} }` }),
  },
  {
    mistake: 'too many directives',
    code: 'TOO_MANY_DIRECTIVES',
    init: json({ query: `{ brands { ${'id @include(if: true) '.repeat(31)}} }` }),
  },
  { mistake: 'too many tokens', code: 'TOO_MANY_TOKENS', init: json({ query: `{ brands { ${'id '.repeat(2100)}} }` }) },
  {
    mistake: 'too costly',
    code: 'QUERY_TOO_COMPLEX',
    init: json({ query: '{ kits(first: 100) { edges { node { club { kits(first: 100) { totalCount } } } } } }' }),
  },
  { mistake: 'a syntax error', code: 'GRAPHQL_PARSE_FAILED', init: json({ query: '{ brands { id ' }) },
  { mistake: 'an unknown field', code: 'GRAPHQL_VALIDATION_FAILED', init: json({ query: '{ nope }' }) },
  {
    mistake: 'a variable of the wrong type',
    code: 'BAD_USER_INPUT',
    init: json({ query: 'query($id: ID!) { kit(id: $id) { id } }', variables: { id: {} } }),
  },
  { mistake: 'a malformed id', code: 'BAD_USER_INPUT', init: json({ query: '{ kit(id: "x") { id } }' }) },
  {
    mistake: 'a forged cursor',
    code: 'BAD_USER_INPUT',
    init: json({ query: '{ kits(first: 2, after: "zz") { totalCount } }' }),
  },
  { mistake: 'a write without signing in', code: 'UNAUTHENTICATED', init: json({ query: 'mutation { logout }' }) },
  { mistake: 'bad JSON', code: 'BAD_REQUEST', init: json('{not json') },
  { mistake: 'a batch', code: 'BAD_REQUEST', init: json([{ query: '{ brands { id } }' }]) },
  {
    mistake: 'a mutation over GET',
    code: 'BAD_REQUEST',
    url: `?query=${encodeURIComponent('mutation { logout }')}`,
    init: { headers: { accept: 'application/json' } },
  },
];

async function send(init: RequestInit, url = ''): Promise<{ status: number; codes: unknown[]; logged: Line[] }> {
  lines.length = 0;
  const response = await c.front.fetch(`http://kitvault.test/graphql${url}`, init);
  const body = (await response.json()) as { errors?: { extensions?: { code?: unknown } }[] };
  await c.caches.settled();
  // Debug lines (yoga's own chatter) are off in production: what is left is what an operator reads.
  return {
    status: response.status,
    codes: (body.errors ?? []).map((e) => e.extensions?.code),
    logged: lines.filter((l) => l.level >= 30),
  };
}

describe("a client's mistake is logged once, at info or warn", () => {
  it.each(MISTAKES)('$mistake ($code): one line, not at error level', async ({ code, url, init }) => {
    const answer = await send(init, url);
    expect(answer.codes).toEqual([code]);
    expect(answer.status).toBeLessThan(500);
    expect(answer.logged.map((l) => l.level)).toHaveLength(1);
    expect([30, 40]).toContain(answer.logged[0]!.level);
  });

  it('the line of a refused document names its code', async () => {
    const answer = await send(json({ query: deep(3) }));
    expect(answer.logged).toMatchObject([{ level: 30, msg: 'graphql refused', codes: ['QUERY_TOO_DEEP'] }]);
  });

  it('a valid request is one info line too', async () => {
    const answer = await send(json({ query: '{ brands { id } }' }));
    expect(answer.codes).toEqual([]);
    expect(answer.logged).toMatchObject([{ level: 30, msg: 'graphql' }]);
  });

  it('a server fault is logged at error level, with its cause, and masked for the client', async () => {
    const { allBrands } = c.app.repos.catalogue;
    c.app.repos.catalogue.allBrands = () => Promise.reject(new Error('boom: a bug of ours'));
    try {
      // A document nobody asked before: no cached answer to serve.
      const answer = await send(json({ query: '{ brands { name } }' }));
      expect(answer.codes).toEqual(['INTERNAL_SERVER_ERROR']);
      const errors = answer.logged.filter((l) => l.level >= 50);
      expect(errors).toHaveLength(1);
      expect(JSON.stringify(errors[0])).toContain('boom: a bug of ours');
    } finally {
      c.app.repos.catalogue.allBrands = allBrands;
    }
  });
});
