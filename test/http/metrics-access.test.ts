/**
 * /metrics can be protected: a bearer token (METRICS_TOKEN), and/or a listener of its own
 * (METRICS_PORT) with the main port answering 404 for it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { Database } from '../../src/db/client.js';
import { metricsAuthorised, metricsListener } from '../../src/http/operations.js';
import { testApp } from '../helpers/app.js';
import { openTestDatabase } from '../helpers/database.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const TOKEN = 'a-metrics-token-of-32-characters';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('/metrics with METRICS_TOKEN', () => {
  it('answers 401 without the token or with a wrong one, 200 with it', async () => {
    const app = testApp(database, { metrics: { token: TOKEN } });
    const get = (headers: Record<string, string> = {}) => app.fetch('http://kitvault.test/metrics', { headers });

    const none = await get();
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
    expect(await none.text()).not.toContain('kitvault_');
    for (const wrong of [bearer(TOKEN.slice(0, -1)), bearer(`${TOKEN}x`), bearer('x'), { authorization: TOKEN }])
      expect((await get(wrong)).status).toBe(401);

    const ok = await get(bearer(TOKEN));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('kitvault_sql_statements_total');
    expect((await get({ authorization: `bearer ${TOKEN}` })).status).toBe(200);
    // Nothing else moved behind the token.
    expect((await app.fetch('http://kitvault.test/health')).status).toBe(200);
  });

  it('compares the whole token (any length, any difference), and requires none when unset', () => {
    expect(metricsAuthorised(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(metricsAuthorised(`Bearer ${TOKEN} `, TOKEN)).toBe(true);
    expect(metricsAuthorised(`Bearer ${TOKEN.toUpperCase()}`, TOKEN)).toBe(false);
    expect(metricsAuthorised('Bearer ', TOKEN)).toBe(false);
    expect(metricsAuthorised(undefined, TOKEN)).toBe(false);
    expect(metricsAuthorised(undefined, undefined)).toBe(true);
  });
});

describe('/metrics with METRICS_PORT', () => {
  let server: Server;
  let base = '';
  const app = () => testApp(database, { metrics: { ownListener: true, token: TOKEN } });
  beforeAll(async () => {
    server = createServer(metricsListener(app().metrics, TOKEN));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  it('is served only by its own listener (token still required there); the main port answers 404', async () => {
    const main = app();
    expect((await main.fetch('http://kitvault.test/metrics', { headers: bearer(TOKEN) })).status).toBe(404);
    expect((await main.fetch('http://kitvault.test/health')).status).toBe(200);

    const get = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${base}${path}`, { headers, signal: AbortSignal.timeout(5000) });
    expect((await get('/metrics')).status).toBe(401);
    const ok = await get('/metrics', bearer(TOKEN));
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('kitvault_sql_statements_total');
    for (const path of ['/graphql', '/ready', '/health', '/metrics/x'])
      expect((await get(path, bearer(TOKEN))).status, path).toBe(404);
  });
});

describe('METRICS_TOKEN and METRICS_PORT settings', () => {
  it('are optional, and refuse a short token or the main port', () => {
    expect(loadConfig({})).toMatchObject({ metricsToken: undefined, metricsPort: undefined });
    expect(loadConfig({ METRICS_TOKEN: TOKEN, METRICS_PORT: '9464' })).toMatchObject({
      metricsToken: TOKEN,
      metricsPort: 9464,
    });
    expect(loadConfig({ METRICS_TOKEN: '', METRICS_PORT: '' })).toMatchObject({
      metricsToken: undefined,
      metricsPort: undefined,
    });
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(() => loadConfig({ METRICS_TOKEN: 'has a space in it, sixteen+' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ METRICS_PORT: 'abc' })).toThrow(/METRICS_PORT/);
    expect(() => loadConfig({ PORT: '4000', METRICS_PORT: '4000' })).toThrow(/METRICS_PORT: must differ from PORT/);
  });
});
