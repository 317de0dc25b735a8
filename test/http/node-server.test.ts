/**
 * The front door as main.ts mounts it: node:http on a loopback port, fast path in front of yoga.
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

const post = (body: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(5000),
  });

describe('the node:http front door', () => {
  it('serves /health, /ready and /metrics through yoga', async () => {
    expect((await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    expect((await fetch(`${base}/ready`, { signal: AbortSignal.timeout(5000) })).status).toBe(200);
    expect(await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text()).toContain(
      'kitvault_sql_statements_total',
    );
  });

  it('serves GraphiQL to a browser', async () => {
    const r = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' }, signal: AbortSignal.timeout(5000) });
    expect(r.status).toBe(200);
    expect(await r.text()).toMatch(/graphiql/i);
  });

  it('answers a miss through yoga and the repeat from the fast path, identically', async () => {
    const body = JSON.stringify({ query: '{ kit(id: 8) { name brand { name } } }' });
    const miss = await post(body);
    expect(miss.headers.get('x-cache')).toBe('MISS');
    const missText = await miss.text();
    await c.caches.settled();
    const hit = await post(body);
    expect(hit.status).toBe(200);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.headers.get('content-type')).toBe(miss.headers.get('content-type'));
    expect(await hit.text()).toBe(missText);
    const viaGet = await fetch(
      `${base}/graphql?query=${encodeURIComponent('{ kit(id: 8) { name brand { name } } }')}`,
      { signal: AbortSignal.timeout(5000) },
    );
    expect(viaGet.headers.get('x-cache')).toBe('HIT');
    expect(await viaGet.text()).toBe(missText);
    expect(hit.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    // Fast-path hits never reach yoga's plugins, yet they are measured.
    const metrics = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    expect(metrics).toMatch(
      /kitvault_graphql_request_duration_seconds_count\{operation="anonymous",cache="hit"\} [2-9]/,
    );
  });

  it('refuses a body over the limit with 413 and a mutation over GET with 405, and survives bad JSON', async () => {
    const big = await post(JSON.stringify({ query: `{ brands { id } } #${'x'.repeat(MAX_BODY_BYTES)}` }));
    expect(big.status).toBe(413);
    expect((await big.json()).errors[0].extensions.code).toBe('BAD_REQUEST');
    const viaGet = await fetch(`${base}/graphql?query=${encodeURIComponent('mutation { logout }')}`, {
      signal: AbortSignal.timeout(5000),
    });
    expect(viaGet.status).toBe(405);
    // Streamed (chunked, no declared length): refused once the bytes read pass the bound.
    const chunk = new TextEncoder().encode(' '.repeat(64 * 1024));
    let sent = 0;
    const streamed = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent > 2 * MAX_BODY_BYTES) controller.close();
          else controller.enqueue(chunk);
          sent += chunk.length;
        },
      }),
      duplex: 'half',
      signal: AbortSignal.timeout(5000),
    } as RequestInit);
    expect(streamed.status).toBe(413);
    const garbage = await post('{not json');
    expect(garbage.status).toBe(400);
    expect((await post(JSON.stringify({ query: '{ brands { id } }' }))).status).toBe(200);
  });

  it('answers 500 INTERNAL_SERVER_ERROR, with no stack, when the lean hit throws at once or rejects, and goes on serving', async () => {
    // A lean hit that fails on purpose: at once (the path without a promise) or through its promise.
    const failing = createServer(
      createFrontDoor(c.app, {
        serve: (req) => {
          if (req.header('x-fail') === 'at-once') throw new Error('thrown at once');
          if (req.header('x-fail') === 'later') return Promise.reject(new Error('rejected later'));
          return { context: {} };
        },
      }).listener,
    );
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    const at = `http://127.0.0.1:${(failing.address() as AddressInfo).port}/graphql`;
    try {
      for (const fail of ['at-once', 'later']) {
        const r = await fetch(at, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-fail': fail },
          body: JSON.stringify({ query: '{ brands { id } }' }),
          signal: AbortSignal.timeout(5000),
        });
        expect(r.status, fail).toBe(500);
        const text = await r.text();
        expect(JSON.parse(text).errors[0].extensions.code, fail).toBe('INTERNAL_SERVER_ERROR');
        expect(text, fail).not.toMatch(/thrown at once|rejected later|\bat .*:\d+/);
      }
      // Declined: yoga answers as usual on the same server.
      const ok = await fetch(at, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ brands { id } }' }),
        signal: AbortSignal.timeout(5000),
      });
      expect(ok.status).toBe(200);
    } finally {
      await new Promise((resolve) => failing.close(resolve));
    }
  });
});
