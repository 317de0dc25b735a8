/**
 * The hash → document pairs this process has verified, for the lean hit (which must not wait on
 * Redis to learn what a hash means). A verified pair never changes meaning, so entries have no TTL:
 * they leave only to keep the map within its byte bound.
 *
 * A pair must be asked for after it was learned before a flood of one-shot registrations can no
 * longer evict it (segmented-lru.ts).
 */
import { SegmentedLru } from '../cache/segmented-lru.js';

export class KnownDocuments {
  private readonly documents: SegmentedLru<string>;

  constructor(maxTotalBytes = 8 * 1024 * 1024) {
    this.documents = new SegmentedLru(maxTotalBytes, (document) => Buffer.byteLength(document) + 64);
  }

  /** Only for a pair whose hash was checked against the document. */
  learn(hash: string, document: string): void {
    this.documents.add(hash, document);
  }

  get(hash: string): string | undefined {
    return this.documents.get(hash);
  }

  /** Bytes held (never above the bound). */
  bytes(): number {
    return this.documents.size();
  }
}
