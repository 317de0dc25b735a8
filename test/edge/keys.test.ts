/**
 * Surrogate keys: one token per tag whatever the tag holds, distinct for distinct tags, bounded per
 * answer; an answer whose keys do not fit is not kept at the edge at all; the entry carries them.
 */
import { describe, expect, it } from 'vitest';
import { EDGE_ALL_KEY, EDGE_KEYS_MAX_BYTES, edgeKey, edgeKeyBatches, edgeKeysOf } from '../../src/cache/edge/keys.js';
import { decodeEntry, encodeEntry, freshness, type EntryMeta } from '../../src/cache/response/entry.js';
import { entryHeaders } from '../../src/cache/response/headers.js';

const tricky = [
  'Kit.club:1',
  'Club.country:united kingdom',
  'Club.country:a,b',
  'Club.country:a%2Cb',
  'Club.country:côte d’ivoire',
  'Club.country:\ud800',
  'Club.country:line\nbreak',
  'Club.country:"quoted"',
];

describe('edge keys', () => {
  it('names every tag with one safe token, and distinct tags distinctly', () => {
    const keys = tricky.map(edgeKey);
    for (const key of keys) expect(key).toMatch(/^[A-Za-z0-9._:~%-]+$/);
    expect(new Set(keys).size).toBe(tricky.length);
    expect(edgeKey('Kit.club:1')).toBe('Kit.club:1');
  });

  it('bounds the keys of an answer: beyond the limit there are none at all, never a part', () => {
    const many = Array.from({ length: 1000 }, (_, i) => `Kit:${i}`);
    expect(edgeKeysOf(many)).toBeNull();
    expect(edgeKeysOf(many.slice(0, 10))).toBe([EDGE_ALL_KEY, ...many.slice(0, 10)].join(' '));
    expect(edgeKeysOf([])).toBeNull();
    // Purges split into batches instead, each within the limit, together naming every key.
    const batches = edgeKeyBatches([...many, 'x'.repeat(EDGE_KEYS_MAX_BYTES + 1)]);
    for (const b of batches) expect(b.length).toBeLessThanOrEqual(EDGE_KEYS_MAX_BYTES);
    expect(batches.join(' ').split(' ')).toEqual(many);
  });

  it('travels in the entry (still one read), and older entries are read without keys', () => {
    const meta: EntryMeta = {
      etag: '"abc"',
      storedAt: 1,
      maxAgeMs: 2,
      graceMs: 3,
      scope: 'PUBLIC',
      edgeKeys: 'Kit:1 Kit.club:2',
    };
    const body = '{"data":{"kit":{"id":"1"}}}';
    const decoded = decodeEntry(Buffer.from(encodeEntry(meta, body)));
    expect(decoded?.meta).toEqual(meta);
    expect(decoded?.body.toString()).toBe(body);
    expect(decodeEntry(Buffer.from(encodeEntry({ ...meta, edgeKeys: null }, body)))?.meta.edgeKeys).toBeNull();
    const v1 = decodeEntry(Buffer.from(`1 1 2 3 P "abc"\n${body}`));
    expect(v1?.meta.edgeKeys).toBeNull();
    expect(v1?.body.toString()).toBe(body);
    // A private entry never names keys; a keys line past the limit is not an entry.
    expect(decodeEntry(Buffer.from(`2 1 2 3 R "abc"\nKit:1\n${body}`))?.meta.edgeKeys).toBeNull();
    expect(decodeEntry(Buffer.from(`2 1 2 3 P "abc"\n${'k'.repeat(EDGE_KEYS_MAX_BYTES + 1)}\n${body}`))).toBeNull();
  });
});

describe('the headers of a public answer', () => {
  const meta: EntryMeta = {
    etag: '"e"',
    storedAt: 1_000_000,
    maxAgeMs: 60_000,
    graceMs: 30_000,
    scope: 'PUBLIC',
    edgeKeys: 'Kit:1 Kit.list',
  };
  const at = (ms: number) => freshness(meta, meta.storedAt + ms);

  it('let the edge keep a fresh stored answer for the rest of its max-age, named by its keys', () => {
    expect(entryHeaders(meta, at(20_500), 'HIT', 300_000)).toEqual({
      'cache-control': 'public, no-cache',
      etag: '"e"',
      age: '20',
      'x-cache': 'HIT',
      'surrogate-control': 'max-age=39',
      'surrogate-key': 'Kit:1 Kit.list',
      'cache-tag': 'Kit:1,Kit.list',
    });
    // No longer than the edge's own cap, whatever is left of the entry's max-age.
    expect(entryHeaders(meta, at(20_500), 'HIT', 10_000)['surrogate-control']).toBe('max-age=10');
  });

  it('keep it from the edge when its keys did not fit, when it is stale, or when the store does not hold it (or no edge is purged)', () => {
    const cases = [
      entryHeaders({ ...meta, edgeKeys: null }, at(1000), 'HIT', 300_000),
      entryHeaders(meta, at(61_000), 'STALE', 300_000),
      entryHeaders(meta, at(59_500), 'HIT', 300_000),
      entryHeaders(meta, at(0), 'MISS', 0),
    ];
    for (const headers of cases) {
      expect(headers['cache-control']).toBe('public, no-cache');
      expect(headers['surrogate-control']).toBe('no-store');
      expect(headers['surrogate-key']).toBeUndefined();
      expect(headers['cache-tag']).toBeUndefined();
    }
    const priv = entryHeaders({ ...meta, scope: 'PRIVATE' }, at(0), 'HIT', 300_000);
    expect(priv['cache-control']).toBe('private, no-cache');
    expect(Object.keys(priv).filter((h) => h.startsWith('surrogate') || h === 'cache-tag')).toEqual([]);
  });
});
