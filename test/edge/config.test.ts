/**
 * The edge settings: no edge unless EDGE_PURGE_URLS names one; bad values name their variable.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

describe('configuration of the edge', () => {
  it('reads EDGE_PURGE_URLS, EDGE_PURGE_TIMEOUT_MS and EDGE_REPURGE_DELAY_MS with their defaults', () => {
    expect(loadConfig({})).toMatchObject({ edgePurgeUrls: [], edgePurgeTimeoutMs: 1000, edgeRepurgeDelayMs: 2000 });
    expect(
      loadConfig({
        EDGE_PURGE_URLS: ' http://varnish:8080, https://edge-2.internal/ ,',
        EDGE_PURGE_TIMEOUT_MS: '250',
        EDGE_REPURGE_DELAY_MS: '0',
      }),
    ).toMatchObject({
      edgePurgeUrls: ['http://varnish:8080', 'https://edge-2.internal/'],
      edgePurgeTimeoutMs: 250,
      edgeRepurgeDelayMs: 0,
    });
  });

  it('refuses what is not an http(s) base URL, and out-of-range times', () => {
    for (const bad of ['varnish:8080', 'ftp://varnish', 'http://varnish/purge', 'http://a b', 'http://x?y'])
      expect(() => loadConfig({ EDGE_PURGE_URLS: bad }), bad).toThrow(/EDGE_PURGE_URLS/);
    expect(() => loadConfig({ EDGE_PURGE_TIMEOUT_MS: '10' })).toThrow(/EDGE_PURGE_TIMEOUT_MS/);
    expect(() => loadConfig({ EDGE_REPURGE_DELAY_MS: '-1' })).toThrow(/EDGE_REPURGE_DELAY_MS/);
    expect(() => loadConfig({ EDGE_REPURGE_DELAY_MS: '60001' })).toThrow(/EDGE_REPURGE_DELAY_MS/);
  });
});
