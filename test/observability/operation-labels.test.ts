/**
 * The duration histogram's `operation` label comes from a bounded set: a client sending endless
 * random operation names cannot grow the series (memory, scrape size) without bound, on the yoga
 * path (request log) or the lean hit (front door). Logs keep the real name, cut at 100 characters.
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../../src/db/client.js';
import { createOperationLabels, logName } from '../../src/observability/operation-labels.js';
import { cachedApp } from '../helpers/caches.js';
import { openTestDatabase } from '../helpers/database.js';

let database: Database;
beforeAll(async () => {
  database = await openTestDatabase();
});
afterAll(() => database?.close());

const HISTOGRAM = 'kitvault_graphql_request_duration_seconds_count';

/** operation label value → { cache label value → count } of the histogram's `_count` samples. */
function series(text: string): Map<string, Map<string, number>> {
  const out = new Map<string, Map<string, number>>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${HISTOGRAM}{`)) continue;
    const operation = /operation="((?:[^"\\]|\\.)*)"/.exec(line)?.[1];
    const cache = /cache="([^"]*)"/.exec(line)?.[1];
    if (operation === undefined || cache === undefined) continue;
    const byCache = out.get(operation) ?? new Map<string, number>();
    byCache.set(cache, Number(line.slice(line.lastIndexOf(' ') + 1)));
    out.set(operation, byCache);
  }
  return out;
}

describe('operation labels', () => {
  it('are a name, "anonymous" or "other", with configured names and the first N kept', () => {
    const labels = createOperationLabels({ names: ['Configured'], max: 2 });
    expect(labels.label(undefined)).toBe('anonymous');
    expect(labels.label('')).toBe('anonymous');
    expect(labels.label('anonymous')).toBe('anonymous');
    expect(labels.label('First')).toBe('First');
    expect(labels.label('other')).toBe('other'); // takes no slot
    expect(labels.label('x'.repeat(101))).toBe('other'); // too long to be a label, takes no slot
    expect(labels.label('not a name')).toBe('other');
    expect(labels.label('Second')).toBe('Second');
    expect(labels.label('Third')).toBe('other');
    expect(labels.label('First')).toBe('First');
    expect(labels.label('Configured')).toBe('Configured');
    expect(createOperationLabels({ max: 5000 }).label('A')).toBe('A');
    expect(logName(undefined)).toBe('anonymous');
    expect(logName('Short')).toBe('Short');
    expect(logName('y'.repeat(5000))).toBe(`${'y'.repeat(100)}…`);
  });

  it('keep /metrics bounded under 10,000 random operation names; a configured name still gets its series', async () => {
    const logged: { operation?: string; cache?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const { front, caches } = await cachedApp(database, {
      backend: 'memory',
      app: { logger, metrics: { operationNames: ['Configured'] } },
    });
    const cap = 100; // METRICS_MAX_OPERATIONS' default
    const post = async (query: string, operationName?: string) => {
      const r = await front.fetch('http://kitvault.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, ...(operationName ? { operationName } : {}) }),
      });
      expect(r.status).toBe(200);
      return r.headers.get('x-cache');
    };
    const scrape = async () => {
      const r = await front.fetch('http://kitvault.test/metrics');
      expect(r.status).toBe(200);
      return series(await r.text());
    };
    const randomName = () => `Op${randomBytes(8).toString('hex')}`;

    // 10,000 distinct names through yoga (each a response-cache miss), 200 at a time.
    for (let sent = 0; sent < 10_000; sent += 200) {
      await Promise.all(Array.from({ length: 200 }, () => post(`query ${randomName()} { brands { id } }`)));
    }
    await caches.settled();
    // Past the cap, lean hits too: 20 new names, each asked twice (the second is a hit in front of yoga).
    const late = Array.from({ length: 20 }, randomName);
    for (const name of late) await post(`query ${name} { brands { id } }`, name);
    await caches.settled();
    for (const name of late) expect(await post(`query ${name} { brands { id } }`, name)).toBe('HIT');
    await post('{ brands { id } }');

    const capped = await scrape();
    expect(capped.size).toBeLessThanOrEqual(cap + 2);
    expect(capped.get('other')?.get('miss')).toBe(10_000 - cap + late.length);
    expect(capped.get('other')?.get('hit')).toBe(late.length);
    expect(capped.get('anonymous')?.get('miss')).toBe(1);
    for (const name of late) expect(capped.has(name)).toBe(false);

    // A configured name has its own series whenever it first comes.
    await post('query Configured { brands { id } }');
    const after = await scrape();
    expect(after.get('Configured')?.get('miss')).toBe(1);
    expect(after.size).toBeLessThanOrEqual(cap + 2 + 1);

    // The log lines keep the real name (an "other" in the metrics), for misses and lean hits alike.
    const last = late.at(-1)!;
    expect(logged.filter((l) => l.operation === last).map((l) => l.cache)).toEqual(['miss', 'hit']);
  }, 180_000);

  it("name a lean hit as yoga named its miss: by the document's only operation when no operationName is sent", async () => {
    const logged: { operation?: string; cache?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const { front, caches } = await cachedApp(database, { backend: 'memory', app: { logger } });
    const ask = async (body: Record<string, unknown>) => {
      const r = await front.fetch('http://kitvault.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.status).toBe(200);
      return r.headers.get('x-cache');
    };
    const sole = 'query SoleOp { brands { id } }';
    const two = 'query First { brands { id } } query Second { clubs(first: 1) { edges { node { id } } } }';
    expect(await ask({ query: sole })).toBe('MISS');
    expect(await ask({ query: two, operationName: 'Second' })).toBe('MISS');
    await caches.settled();
    expect(await ask({ query: sole })).toBe('HIT');
    expect(await ask({ query: two, operationName: 'Second' })).toBe('HIT');
    expect(await ask({ query: '{ brands { id } }' })).toBe('MISS');
    await caches.settled();
    expect(await ask({ query: '{ brands { id } }' })).toBe('HIT');

    const counts = series(await (await front.fetch('http://kitvault.test/metrics')).text());
    expect(counts.get('SoleOp')).toEqual(
      new Map([
        ['miss', 1],
        ['hit', 1],
      ]),
    );
    expect(counts.get('Second')).toEqual(
      new Map([
        ['miss', 1],
        ['hit', 1],
      ]),
    );
    expect(counts.get('anonymous')).toEqual(
      new Map([
        ['miss', 1],
        ['hit', 1],
      ]),
    );
    expect(logged.filter((l) => l.operation === 'SoleOp').map((l) => l.cache)).toEqual(['miss', 'hit']);
  });

  it('log an absurdly long operation name cut at 100 characters, and label it "other"', async () => {
    const logged: { operation?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const { front, app } = await cachedApp(database, { backend: 'memory', app: { logger } });
    const name = `Long${'x'.repeat(3000)}`;
    const r = await front.fetch('http://kitvault.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `query ${name} { brands { id } }` }),
    });
    expect(r.status).toBe(200);
    const text = await (await app.fetch('http://kitvault.test/metrics')).text();
    expect(text).not.toContain('xxxxxxxxxx');
    expect(series(text).get('other')?.get('miss')).toBe(1);
    expect(logged.find((l) => l.operation?.startsWith('Long'))?.operation).toBe(`${name.slice(0, 100)}…`);
  });
});
