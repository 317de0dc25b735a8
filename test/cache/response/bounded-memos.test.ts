/**
 * What clients steer in the lean hit is bounded by bytes, not by count: the memo of recognised
 * requests (each holds a client-chosen URL or body), the keys of private requests (one per
 * session) and the index of documents yoga executed.
 */
import { describe, expect, it } from 'vitest';
import { CacheCounters } from '../../../src/cache/counters.js';
import { DocumentIndex } from '../../../src/cache/response/documents.js';
import { createMemoryResponseStore } from '../../../src/cache/response/memory-store.js';
import { createServe, MEMO_MAX_BYTES, SESSION_KEYS_MAX_BYTES } from '../../../src/cache/response/serve.js';

/** A lean hit over a memory store, knowing `documents`, whose sessions `sessionOf` names. */
const leanHit = (documents: DocumentIndex, sessionOf: () => string) =>
  createServe({
    store: createMemoryResponseStore(),
    documents,
    counters: new CacheCounters(),
    edgeMaxAgeMs: 0,
    debug: false,
    graphqlPath: '/graphql',
    maxBodyBytes: 64 * 1024,
    sessionOf,
  });

describe('the lean hit keeps what clients steer bounded by bytes', () => {
  it('holds at most MEMO_MAX_BYTES of recognised requests, however many large distinct URLs arrive', async () => {
    const documents = new DocumentIndex();
    const query = '{ brands { id } }';
    documents.remember(query, 'PUBLIC');
    const serve = leanHit(documents, () => 'anon');
    // 6,000 distinct GET URLs of ~4 KB each (a count bound of 5,000 would keep ~20 MB of them).
    const padding = 'x'.repeat(3_900);
    for (let i = 0; i < 6_000; i++) {
      await serve(
        {
          method: 'GET',
          url: `/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(JSON.stringify({ p: `${i}${padding}` }))}`,
          header: (name) => (name === 'accept' ? 'application/json' : undefined),
          body: null,
        },
        async () => {},
      );
    }
    expect(serve.memoBytes()).toBeGreaterThan(MEMO_MAX_BYTES / 2); // they were memoised…
    expect(serve.memoBytes()).toBeLessThanOrEqual(MEMO_MAX_BYTES); // …up to the bound, not beyond
  });

  it('holds at most SESSION_KEYS_MAX_BYTES of private keys, however many sessions ask', async () => {
    const documents = new DocumentIndex();
    const query = '{ me { id } }';
    documents.remember(query, 'PRIVATE');
    let session = '';
    const serve = leanHit(documents, () => session);
    const body = Buffer.from(JSON.stringify({ query }));
    // 40,000 sessions of ~100 characters: about 9 MB of keys if nothing bounded them.
    for (let i = 0; i < 40_000; i++) {
      session = `${i}:${'s'.repeat(96)}`;
      await serve(
        {
          method: 'POST',
          url: '/graphql',
          header: (name) => (name === 'content-type' ? 'application/json' : undefined),
          body,
        },
        async () => {},
      );
    }
    expect(serve.sessionKeyBytes()).toBeGreaterThan(SESSION_KEYS_MAX_BYTES / 2); // they were kept…
    expect(serve.sessionKeyBytes()).toBeLessThanOrEqual(SESSION_KEYS_MAX_BYTES); // …up to the bound, not beyond
  });

  it('remembers at most maxTotalLength characters of documents', () => {
    const index = new DocumentIndex({ maxTotalLength: 1_000_000 });
    for (let i = 0; i < 1_000; i++) index.remember(`{ brands { id } } # ${i} ${'y'.repeat(10_000)}`, 'PUBLIC');
    expect(index.bytes()).toBeLessThanOrEqual(1_000_000);
    expect(index.recall(`{ brands { id } } # 999 ${'y'.repeat(10_000)}`)?.scope).toBe('PUBLIC');
  });

  it('keeps the documents in use through a flood of documents sent once', () => {
    const index = new DocumentIndex({ maxTotalLength: 1_000_000 });
    const hot = ['{ brands { id } }', '{ kit(id: 1) { name } }', '{ me { id } }'];
    for (const q of hot) index.remember(q, 'PUBLIC');
    for (const q of hot) expect(index.recall(q)?.scope).toBe('PUBLIC'); // met again: in use
    for (let i = 0; i < 2_000; i++) index.remember(`{ clubs { id } } # ${i} ${'z'.repeat(5_000)}`, 'PUBLIC');
    expect(index.bytes()).toBeLessThanOrEqual(1_000_000);
    for (const q of hot) expect(index.recall(q)?.scope, q).toBe('PUBLIC');
    // A document executed twice counts as in use as well.
    index.remember('{ seasons { id } }', 'PUBLIC');
    index.remember('{ seasons { id } }', 'PUBLIC');
    for (let i = 0; i < 2_000; i++) index.remember(`{ brands { name } } # ${i} ${'w'.repeat(5_000)}`, 'PUBLIC');
    expect(index.recall('{ seasons { id } }')?.scope).toBe('PUBLIC');
  });
});
