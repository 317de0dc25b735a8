/**
 * The lean hit's in-process map of verified hash → document pairs stays within its byte bound
 * however many documents clients register, and keeps the most recently used.
 */
import { describe, expect, it } from 'vitest';
import { KnownDocuments } from '../../src/persisted/known.js';
import { sha256 } from './requests.js';

describe('KnownDocuments', () => {
  it('holds at most its bound in bytes, dropping the least recently used', () => {
    const known = new KnownDocuments(10_000);
    const documents = Array.from({ length: 1000 }, (_, i) => `query Q${i} { kit(id: ${i}) { id name } }`);
    for (const document of documents) known.learn(sha256(document), document);
    expect(known.bytes()).toBeGreaterThan(5_000);
    expect(known.bytes()).toBeLessThanOrEqual(10_000);
    expect(known.get(sha256(documents[999]!))).toBe(documents[999]);
    expect(known.get(sha256(documents[0]!))).toBeUndefined();
  });

  it('does not keep a document larger than the whole bound', () => {
    const known = new KnownDocuments(1_000);
    const large = `{ kits { id } } # ${'x'.repeat(2_000)}`;
    known.learn(sha256(large), large);
    expect(known.get(sha256(large))).toBeUndefined();
    expect(known.bytes()).toBe(0);
  });
});
