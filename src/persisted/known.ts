/**
 * The hash → document pairs this process has verified, for the lean hit (which must not wait on
 * Redis to learn what a hash means). A verified pair never changes meaning, so entries have no TTL:
 * they leave only to keep the map within its byte bound.
 */
import { LRUCache } from 'lru-cache';

export class KnownDocuments {
  private readonly documents: LRUCache<string, string>;

  constructor(maxTotalBytes = 8 * 1024 * 1024) {
    this.documents = new LRUCache({
      maxSize: maxTotalBytes,
      sizeCalculation: (document) => Buffer.byteLength(document) + 64,
    });
  }

  /** Only for a pair whose hash was checked against the document. */
  learn(hash: string, document: string): void {
    this.documents.set(hash, document);
  }

  get(hash: string): string | undefined {
    return this.documents.get(hash);
  }

  /** Bytes held (never above the bound). */
  bytes(): number {
    return this.documents.calculatedSize;
  }
}
