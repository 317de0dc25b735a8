/**
 * The lean hit's in-process map of verified hash → document pairs stays within its byte bound
 * however many documents clients register, keeps the most recently used, and a flood of documents
 * registered once does not evict the ones in use.
 */
import { describe, expect, it } from 'vitest';
import { KnownDocuments } from '../../src/persisted/known.js';
import { sha256 } from './requests.js';

const documents = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `query Q${from + i} { kit(id: ${from + i}) { id name } }`);

describe('KnownDocuments', () => {
  it('holds at most its bound in bytes, dropping the least recently used', () => {
    const known = new KnownDocuments(10_000);
    const used = documents(1000);
    for (const document of used) {
      known.learn(sha256(document), document);
      expect(known.get(sha256(document))).toBe(document);
    }
    expect(known.bytes()).toBeGreaterThan(5_000);
    expect(known.bytes()).toBeLessThanOrEqual(10_000);
    expect(known.get(sha256(used[999]!))).toBe(used[999]);
    expect(known.get(sha256(used[0]!))).toBeUndefined();
  });

  it('keeps a document in use through a flood of documents learned once, within its bound', () => {
    const known = new KnownDocuments(10_000);
    const hot = 'query Hot { kits { id name } }';
    known.learn(sha256(hot), hot);
    expect(known.get(sha256(hot))).toBe(hot); // used once since it was learned
    const flood = documents(10_000, 1000);
    for (const document of flood) known.learn(sha256(document), document);
    expect(known.get(sha256(hot))).toBe(hot);
    expect(known.bytes()).toBeLessThanOrEqual(10_000);
    // The flood's latest are still answered (each could become used in turn), its oldest are gone.
    expect(known.get(sha256(flood.at(-1)!))).toBe(flood.at(-1));
    expect(known.get(sha256(flood[0]!))).toBeUndefined();
  });

  it('does not keep a document larger than the whole bound', () => {
    const known = new KnownDocuments(1_000);
    const large = `{ kits { id } } # ${'x'.repeat(2_000)}`;
    known.learn(sha256(large), large);
    expect(known.get(sha256(large))).toBeUndefined();
    expect(known.bytes()).toBe(0);
  });
});
