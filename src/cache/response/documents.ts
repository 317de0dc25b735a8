/**
 * The documents the lean hit may answer for: the raw query text of every cacheable query yoga has
 * executed here (so it parsed, validated and passed the limits), with its scope. Bounded by bytes,
 * not by count: clients choose the texts, and one text can be large.
 */
import { LRUCache } from 'lru-cache';
import type { Scope } from './policy.js';

export type DocumentIndexOptions = {
  /** Texts longer than this are not remembered (they go to yoga every time). Default 20,000 characters. */
  maxDocumentLength?: number;
  /** Total characters remembered. Default 8 MiB worth. */
  maxTotalLength?: number;
};

/**
 * Two LRU segments, so that texts seen once (a client sending a stream of distinct documents) cannot
 * evict the ones in use: a text is remembered into `probation` (a quarter of the bound) and moves to
 * `used` (the rest) when it is met again, executed or looked up by the lean hit.
 */
export class DocumentIndex {
  private readonly probation: LRUCache<string, Scope>;
  private readonly used: LRUCache<string, Scope>;
  private readonly maxDocumentLength: number;

  constructor(options: DocumentIndexOptions = {}) {
    this.maxDocumentLength = options.maxDocumentLength ?? 20_000;
    const total = options.maxTotalLength ?? 8 * 1024 * 1024;
    const segment = (maxSize: number) =>
      new LRUCache<string, Scope>({ maxSize, sizeCalculation: (_, query) => query.length + 1 });
    this.probation = segment(Math.floor(total / 4));
    this.used = segment(total - Math.floor(total / 4));
  }

  remember(query: string, scope: Scope): void {
    if (query.length > this.maxDocumentLength) return;
    if (this.used.has(query) || this.probation.delete(query)) this.used.set(query, scope);
    else this.probation.set(query, scope);
  }

  scopeOf(query: string): Scope | undefined {
    const scope = this.used.get(query);
    if (scope !== undefined) return scope;
    const once = this.probation.get(query);
    if (once === undefined) return undefined;
    this.probation.delete(query);
    this.used.set(query, once);
    return once;
  }

  /** Characters held (never above maxTotalLength). */
  bytes(): number {
    return this.probation.calculatedSize + this.used.calculatedSize;
  }
}
