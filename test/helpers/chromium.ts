/**
 * Chromium for the browser tests (playwright-core drives the system's /usr/bin/chromium; no
 * browser is downloaded). Absent, the browser tests skip with the reason; under CI=true an absent
 * Chromium fails the run instead, like an absent Postgres or Redis (test/helpers/global-setup.ts).
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

function skipReason(): string | false {
  if (existsSync(CHROMIUM_PATH)) return false;
  const reason = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`CI=true and ${reason}`);
  return reason;
}

/** Why this run has no browser tests, or false when it has them. Throws under CI=true. */
export const chromiumSkip: string | false = skipReason();

export function launchChromium(): Promise<Browser> {
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
}

export type OriginOnly = {
  context: BrowserContext;
  /** Requests to anywhere but the origin (aborted when routing). */
  foreign: string[];
  /** Every request the pages made (data: and blob: URLs are not requests). */
  seen: string[];
};

/**
 * A context for pages that must need nothing but `origin`: every request is recorded, and one to
 * anywhere else is aborted and recorded in `foreign`, so a test can assert none was attempted.
 * `route: false` only records: Playwright turns Chromium's HTTP cache off while it routes requests,
 * so a test of what the browser's cache does cannot route.
 */
export async function originOnlyContext(
  browser: Browser,
  origin: string,
  { route = true }: { route?: boolean } = {},
): Promise<OriginOnly> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Bounded waits: a missing element fails the step that waited for it, with its name.
  context.setDefaultTimeout(30_000);
  const foreign: string[] = [];
  const seen: string[] = [];
  const isForeign = (url: string) => new URL(url).origin !== origin;
  context.on('request', (request) => {
    seen.push(request.url());
    if (!route && isForeign(request.url())) foreign.push(request.url());
  });
  if (route)
    await context.route('**/*', async (r) => {
      const url = r.request().url();
      if (!isForeign(url)) await r.continue();
      else {
        foreign.push(url);
        await r.abort('blockedbyclient');
      }
    });
  return { context, foreign, seen };
}
