/**
 * Purges Varnish by surrogate key: `PURGE /` with `xkey-purge: <space-separated keys>` to each
 * configured Varnish's purge listener (deploy/varnish/default.vcl.template takes it there only,
 * from its ACL, and runs `xkey.purge`). Keys go in batches that fit a request header; every request
 * is bounded by the timeout. Rejects when any Varnish did not confirm, after all were tried.
 */
import { EDGE_ALL_KEY, edgeKeyBatches } from './keys.js';
import type { EdgePurger } from './purger.js';

export type VarnishPurgerOptions = {
  /** Base URLs of the Varnish instances' purge listeners, e.g. `http://varnish:6091`. */
  urls: readonly string[];
  /** The most one purge request may take. */
  timeoutMs: number;
};

export class EdgePurgeError extends Error {
  override name = 'EdgePurgeError';
}

export function createVarnishPurger(options: VarnishPurgerOptions): EdgePurger {
  async function send(url: string, keys: string): Promise<void> {
    const response = await fetch(new URL('/', url), {
      method: 'PURGE',
      headers: { 'xkey-purge': keys },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    await response.body?.cancel();
    if (!response.ok) throw new EdgePurgeError(`${url} answered ${response.status} to a purge`);
  }
  async function sendAll(batches: readonly string[]): Promise<void> {
    const sent = await Promise.allSettled(options.urls.flatMap((url) => batches.map((keys) => send(url, keys))));
    const failed = sent.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed.length)
      throw new EdgePurgeError(
        `${failed.length} of ${sent.length} edge purges failed: ${failed.map((f) => String(f.reason)).join('; ')}`,
      );
  }
  return {
    purge: (tags) => sendAll(edgeKeyBatches(tags)),
    // Every answer kept at the edge carries EDGE_ALL_KEY (keys.ts).
    purgeAll: () => sendAll([EDGE_ALL_KEY]),
  };
}
