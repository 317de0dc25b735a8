/**
 * The hash → document pairs this process has verified, for the lean hit (which must not wait on
 * Redis to learn what a hash means). A verified pair never changes meaning, so entries have no TTL:
 * they leave only to keep the map within its byte bound.
 *
 * Two LRU segments, so that registering documents once cannot evict the ones in use: a pair is
 * learned into `probation` (a quarter of the bound), and moves to `used` (the rest) when it is
 * asked for. A flood of one-shot registrations only churns probation.
 */
import { LRUCache } from 'lru-cache';

const lru = (maxSize: number) =>
  new LRUCache<string, string>({ maxSize, sizeCalculation: (document) => Buffer.byteLength(document) + 64 });

export class KnownDocuments {
  private readonly probation: LRUCache<string, string>;
  private readonly used: LRUCache<string, string>;

  constructor(maxTotalBytes = 8 * 1024 * 1024) {
    const probationBytes = Math.floor(maxTotalBytes / 4);
    this.probation = lru(probationBytes);
    this.used = lru(maxTotalBytes - probationBytes);
  }

  /** Only for a pair whose hash was checked against the document. */
  learn(hash: string, document: string): void {
    if (!this.used.has(hash)) this.probation.set(hash, document);
  }

  get(hash: string): string | undefined {
    const document = this.used.get(hash);
    if (document !== undefined) return document;
    const learned = this.probation.get(hash);
    if (learned === undefined) return undefined;
    this.probation.delete(hash);
    this.used.set(hash, learned);
    return learned;
  }

  /** Bytes held (never above the bound). */
  bytes(): number {
    return this.probation.calculatedSize + this.used.calculatedSize;
  }
}
