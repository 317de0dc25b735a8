/**
 * An urql client (graphcache, queries over GET) in a real Chromium, on the API's own origin: after
 * a mutation, a network-only query must show the new data (public answers say `public, no-cache`,
 * so the browser's HTTP cache revalidates instead of answering by itself, as it did under
 * `max-age`). And a query whose answer did not change must cost a revalidation (If-None-Match →
 * 304 from the lean hit), not a full answer. The steps run in plain tests that record what the page
 * saw; the judging tests read only those records, so they cannot pass by a step failing.
 *
 * No request routing here (Playwright turns Chromium's HTTP cache off while it routes, and that
 * cache is what is under test): requests are recorded, and none may go to another origin.
 */
import { build } from 'esbuild';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkip } from '../helpers/chromium.js';
import { TEST_SEED } from '../helpers/test-seed.js';
import type {} from './fixtures/urql-client.js';
import { browserOnApp } from './harness.js';

describe.skipIf(chromiumSkip)(`urql in Chromium${chromiumSkip ? ` (skipped: ${chromiumSkip})` : ''}`, () => {
  const h = browserOnApp({ route: false });
  let bundle = '';

  beforeAll(async () => {
    const built = await build({
      entryPoints: ['test/browser/fixtures/urql-client.ts'],
      bundle: true,
      write: false,
      format: 'iife',
      platform: 'browser',
      logLevel: 'silent',
    });
    bundle = built.outputFiles[0]!.text;
  });

  /** A page on the API's origin (so no CORS) running the bundled client. */
  async function open(): Promise<Page> {
    const page = await h.open('/health');
    await page.addScriptTag({ content: bundle });
    return page;
  }

  const kitName = (page: Page, id: string) => page.evaluate((kit) => window.kitvault.kitName(kit, 'network-only'), id);
  /** The answers to GraphQL GETs since `mark`. */
  const getsSince = (mark: number) =>
    h.answers.slice(mark).filter((a) => a.method === 'GET' && a.url.startsWith('/graphql?'));

  // What the page saw, recorded by the steps below and judged by the expected failures after them.
  const seen = { renamed: '', afterMutation: '' as string | null, reachedAfterMutation: [] as number[] };
  const repeat = { statuses: [] as number[] };

  it('queries over GET, signs in and renames a kit', async () => {
    const page = await open();
    const mark = h.answers.length;
    const before = await kitName(page, '17');
    expect(before).toBeTruthy();
    // urql sends queries as GET: the case where the browser's HTTP cache can step in.
    expect(getsSince(mark).map((a) => a.status)).toEqual([200]);
    await h.app().caches.settled();

    await page.evaluate((p) => window.kitvault.signIn('admin', p), TEST_SEED.password);
    seen.renamed = `${before} (renamed)`;
    expect(await page.evaluate((name) => window.kitvault.renameKit('17', name), seen.renamed)).toBe(seen.renamed);

    const afterMutation = h.answers.length;
    seen.afterMutation = await kitName(page, '17');
    seen.reachedAfterMutation = getsSince(afterMutation).map((a) => a.status);
    await page.close();
  });

  /**
   * Expected failure while public answers say `public, max-age=<remaining>`: Chromium answers the
   * re-query from its HTTP cache without asking (no request reaches the server), and graphcache
   * writes the old name back over the mutation's. Passes with `public, no-cache` (flip to `it`).
   */
  it('shows the new name after the mutation: the network-only re-query reached the server', () => {
    expect(seen.renamed).toMatch(/\(renamed\)$/);
    expect.soft(seen.afterMutation, 'the name the page sees after the mutation').toBe(seen.renamed);
    expect.soft(seen.reachedAfterMutation, 'answers to the re-query').toEqual([200]);
  });

  it('repeats an unchanged query and shows the same data', async () => {
    const page = await open();
    const first = await kitName(page, '23');
    expect(first).toBeTruthy();
    await h.app().caches.settled();
    const mark = h.answers.length;
    expect(await kitName(page, '23')).toBe(first);
    repeat.statuses = getsSince(mark).map((a) => a.status);
    await page.close();
  });

  /**
   * Expected failure, for two reasons: with `max-age` the browser does not ask at all (answers: []);
   * with `public, no-cache` it revalidates (If-None-Match), but urql's Accept header
   * (`application/graphql-response+json, application/graphql+json, application/json,
   * text/event-stream, multipart/mixed`) makes the lean hit decline (it declines any Accept naming a
   * stream type, though yoga answers this one with JSON), and yoga's path answers 200, never 304
   * (answers: [200]). Passes once both are fixed (flip to `it`).
   */
  it('costs one 304 revalidation for the repeated unchanged query', () => {
    expect(repeat.statuses, 'answers to the repeated query').toEqual([304]);
  });

  it('asked for nothing but its own origin, and logged no error', () => {
    expect(h.browsing().foreign).toEqual([]);
    expect(h.browsing().seen.length).toBeGreaterThan(2);
    expect(h.problems).toEqual([]);
  });
});
