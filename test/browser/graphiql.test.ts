/**
 * GraphiQL in a real Chromium, offline: the page is served by the API alone (every request to any
 * other origin is aborted and must not even be attempted), opens on Kitvault's default query, runs
 * it, and its docs explorer knows the schema. Leaves a screenshot in test-artifacts/graphiql.png.
 */
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_QUERY } from '../../src/app.js';
import type { Database } from '../../src/db/client.js';
import { graphiqlPageOptions } from '../../src/http/graphiql.js';
import { cachedApp, type CachedApp } from '../helpers/caches.js';
import { chromiumSkip, launchChromium, originOnlyContext, type OriginOnly } from '../helpers/chromium.js';
import { openTestDatabase } from '../helpers/database.js';

const SCREENSHOT = 'test-artifacts/graphiql.png';

describe.skipIf(chromiumSkip)(`GraphiQL in Chromium${chromiumSkip ? ` (skipped: ${chromiumSkip})` : ''}`, () => {
  let database: Database;
  let c: CachedApp;
  let server: Server;
  let base = '';
  let browser: Browser;
  let browsing: OriginOnly;
  const problems: string[] = [];

  beforeAll(async () => {
    database = await openTestDatabase();
    c = await cachedApp(database, { backend: 'memory', cacheDebug: false });
    server = createServer(c.front.listener);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    browsing = await originOnlyContext(browser, base);
  });
  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
    await database?.close();
  });

  /** A page whose console errors and uncaught errors are collected in `problems`. */
  async function open(): Promise<Page> {
    const page = await browsing.context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()} (${message.location().url})`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    await page.goto(`${base}/graphql`);
    return page;
  }

  const defaultQuery = graphiqlPageOptions({ defaultQuery: DEFAULT_QUERY }).defaultQuery!;

  /** What an editor shows (Monaco renders spaces as no-break spaces). */
  const shown = async (page: Page, selector: string) =>
    (await page.locator(selector).innerText()).replace(/\u00a0/g, ' ');

  /** The query GraphiQL keeps for its active tab (what the editor holds, unaffected by scrolling). */
  const activeQuery = (page: Page) =>
    page.evaluate(() => {
      const state = JSON.parse(localStorage.getItem('graphiql:tabState') ?? '{}');
      return state.tabs?.[state.activeTabIndex]?.query ?? null;
    });

  it('opens on the default query, runs it and shows the data, and lists the Query fields', async () => {
    const expected = (await (
      await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ kits(first: 5) { totalCount edges { node { name } } } }' }),
        signal: AbortSignal.timeout(10_000),
      })
    ).json()) as { data: { kits: { totalCount: number; edges: { node: { name: string } }[] } } };
    const firstKit = expected.data.kits.edges[0]!.node.name;

    const page = await open();
    await expect.poll(() => shown(page, '.graphiql-query-editor'), { timeout: 60_000 }).toContain('query LatestKits {');
    await expect.poll(() => activeQuery(page)).toBe(defaultQuery);
    expect(await page.locator('.graphiql-tab-active').innerText()).toContain('LatestKits');
    expect(defaultQuery).not.toMatch(/password|kitvault/);

    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => shown(page, '.graphiql-response'), { timeout: 30_000 }).toContain(firstKit);
    expect(await shown(page, '.graphiql-response')).toContain(`"totalCount": ${expected.data.kits.totalCount}`);

    await page.locator('[aria-label="Show Documentation Explorer"]').click();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().click();
    const fields = Object.keys(c.app.schema.getQueryType()!.getFields());
    const listed = page.locator('.graphiql-doc-explorer-field-name');
    await expect.poll(() => listed.allInnerTexts(), { timeout: 30_000 }).toEqual(expect.arrayContaining(fields));

    await mkdir('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    await page.close();
  }, 180_000);

  it('opens on the default query again on a later visit (tabs stored in localStorage)', async () => {
    const page = await open();
    await expect.poll(() => shown(page, '.graphiql-query-editor'), { timeout: 60_000 }).toContain('query LatestKits {');
    await expect.poll(() => activeQuery(page)).toBe(defaultQuery);
    expect(await page.locator('.graphiql-tab').count()).toBe(1);
    await page.close();
  }, 120_000);

  it('asked for nothing but its own origin, and logged no error', () => {
    expect(browsing.foreign).toEqual([]);
    expect(browsing.seen.filter((url) => new URL(url).origin !== base)).toEqual([]);
    expect(browsing.seen.length).toBeGreaterThan(1);
    expect(problems).toEqual([]);
  });
});
