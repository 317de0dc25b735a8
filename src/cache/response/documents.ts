/**
 * The documents the lean hit may answer for: the raw query text of every cacheable query yoga has
 * executed here (so it parsed, validated and passed the limits), with its scope. Bounded by bytes,
 * not by count: clients choose the texts, and one text can be large.
 */
import { SegmentedLru } from '../segmented-lru.js';
import type { Scope } from './policy.js';

export type DocumentIndexOptions = {
  /** Texts longer than this are not remembered (they go to yoga every time). Default 20,000 characters. */
  maxDocumentLength?: number;
  /** Total characters remembered. Default 8 MiB worth. */
  maxTotalLength?: number;
};

/** Texts seen once (a client sending a stream of distinct documents) cannot evict those in use (segmented-lru.ts). */
export class DocumentIndex {
  private readonly scopes: SegmentedLru<Scope>;
  private readonly maxDocumentLength: number;

  constructor(options: DocumentIndexOptions = {}) {
    this.maxDocumentLength = options.maxDocumentLength ?? 20_000;
    this.scopes = new SegmentedLru(options.maxTotalLength ?? 8 * 1024 * 1024, (_, query) => query.length + 1);
  }

  remember(query: string, scope: Scope): void {
    if (query.length > this.maxDocumentLength) return;
    this.scopes.get(query); // executed again: in use
    this.scopes.add(query, scope);
  }

  scopeOf(query: string): Scope | undefined {
    return this.scopes.get(query);
  }

  /** Characters held (never above maxTotalLength). */
  bytes(): number {
    return this.scopes.size();
  }
}
