/**
 * GraphiQL in a real Chromium, offline: the page is served by the API alone (every request to any
 * other origin is aborted and must not even be attempted), opens on Kitvault's default query, runs
 * it, and its docs explorer knows the schema. Leaves a screenshot in test-artifacts/graphiql.png.
 */
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { DEFAULT_QUERY } from '../../src/app.js';
import { graphiqlPageOptions } from '../../src/http/graphiql.js';
import { chromiumSkip } from '../helpers/chromium.js';
import { browserOnApp } from './harness.js';

const SCREENSHOT = 'test-artifacts/graphiql.png';

describe.skipIf(chromiumSkip)(`GraphiQL in Chromium${chromiumSkip ? ` (skipped: ${chromiumSkip})` : ''}`, () => {
  const h = browserOnApp({ route: true });

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
      await fetch(`${h.base()}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: '{ kits(first: 5) { totalCount edges { node { name } } } }' }),
        signal: AbortSignal.timeout(10_000),
      })
    ).json()) as { data: { kits: { totalCount: number; edges: { node: { name: string } }[] } } };
    const firstKit = expected.data.kits.edges[0]!.node.name;

    const page = await h.open('/graphql');
    await expect.poll(() => shown(page, '.graphiql-query-editor'), { timeout: 60_000 }).toContain('query LatestKits {');
    await expect.poll(() => activeQuery(page)).toBe(defaultQuery);
    expect(await page.locator('.graphiql-tab-active').innerText()).toContain('LatestKits');
    expect(defaultQuery).not.toMatch(/password|kitvault/);

    await page.locator('.graphiql-execute-button').click();
    await expect.poll(() => shown(page, '.graphiql-response'), { timeout: 30_000 }).toContain(firstKit);
    expect(await shown(page, '.graphiql-response')).toContain(`"totalCount": ${expected.data.kits.totalCount}`);

    await page.locator('[aria-label="Show Documentation Explorer"]').click();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().click();
    const fields = Object.keys(h.app().app.schema.getQueryType()!.getFields());
    const listed = page.locator('.graphiql-doc-explorer-field-name');
    await expect.poll(() => listed.allInnerTexts(), { timeout: 30_000 }).toEqual(expect.arrayContaining(fields));

    await mkdir('test-artifacts', { recursive: true });
    await page.screenshot({ path: SCREENSHOT });
    await page.close();
  }, 180_000);

  it('opens on the default query again on a later visit (tabs stored in localStorage)', async () => {
    const page = await h.open('/graphql');
    await expect.poll(() => shown(page, '.graphiql-query-editor'), { timeout: 60_000 }).toContain('query LatestKits {');
    await expect.poll(() => activeQuery(page)).toBe(defaultQuery);
    expect(await page.locator('.graphiql-tab').count()).toBe(1);
    await page.close();
  }, 120_000);

  it('asked for nothing but its own origin, and logged no error', () => {
    expect(h.browsing().foreign).toEqual([]);
    expect(h.browsing().seen.filter((url) => new URL(url).origin !== h.base())).toEqual([]);
    expect(h.browsing().seen.length).toBeGreaterThan(1);
    expect(h.problems).toEqual([]);
  });
});
