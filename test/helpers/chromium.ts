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
  /** Requests to anywhere but the origin: aborted, recorded here. */
  foreign: string[];
  /** Every request the pages made (data: and blob: URLs are not requests). */
  seen: string[];
};

/**
 * A context whose every request must go to `origin`: anything else is aborted and recorded, so a
 * test can assert that the page needed nothing from the internet (or any other host).
 */
export async function originOnlyContext(browser: Browser, origin: string): Promise<OriginOnly> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  // Bounded waits: a missing element fails the step that waited for it, with its name.
  context.setDefaultTimeout(30_000);
  const foreign: string[] = [];
  const seen: string[] = [];
  context.on('request', (request) => seen.push(request.url()));
  await context.route('**/*', async (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) await route.continue();
    else {
      foreign.push(url);
      await route.abort('blockedbyclient');
    }
  });
  return { context, foreign, seen };
}
