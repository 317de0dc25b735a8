/**
 * The app on a loopback port (node:http and the front door, as main.ts mounts it; real Postgres via
 * openTestDatabase) and a Chromium whose pages must need nothing but that origin. Registers its own
 * beforeAll / afterAll; call it inside the test file's describe.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { launchChromium, originOnlyContext, type OriginOnly } from '../helpers/chromium.js';
import { openTestDatabase } from '../helpers/database.js';

/** One answer the server sent. */
export type Answer = { method: string; url: string; status: number };

export type BrowserOnApp = {
  /** Set in beforeAll. */
  app(): CachedApp;
  base(): string;
  browsing(): OriginOnly;
  /** Every answer the server sent, in order: what the browser did not take from its own cache. */
  answers: Answer[];
  /** Console errors and uncaught errors of every page `open` made. */
  problems: string[];
  /** A new page at `path`, its errors collected in `problems`. */
  open(path: string): Promise<Page>;
};

export function browserOnApp(options: { route: boolean }): BrowserOnApp {
  let database: Database | undefined;
  let c: CachedApp | undefined;
  let server: Server | undefined;
  let base = '';
  let browser: Browser | undefined;
  let browsing: OriginOnly | undefined;
  const answers: Answer[] = [];
  const problems: string[] = [];
  const ready = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('browserOnApp: used before its beforeAll ran');
    return value;
  };

  beforeAll(async () => {
    database = await openTestDatabase();
    const app = await cachedApp(database, { backend: 'memory', cacheDebug: false });
    c = app;
    server = createServer((req, res) => {
      res.on('finish', () => answers.push({ method: req.method ?? '', url: req.url ?? '', status: res.statusCode }));
      app.front.listener(req, res);
    });
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
    browser = await launchChromium();
    browsing = await originOnlyContext(browser, base, options);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    await database?.close();
  });

  return {
    app: () => ready(c),
    base: () => base,
    browsing: () => ready(browsing),
    answers,
    problems,
    async open(path) {
      const page = await ready(browsing).context.newPage();
      page.on('console', (message) => {
        // The API has no favicon; Chromium asks for one on some pages of its own accord.
        if (message.location().url === `${base}/favicon.ico`) return;
        if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
      });
      page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
      await page.goto(`${base}${path}`);
      return page;
    },
  };
}
