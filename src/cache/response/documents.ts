/**
 * The documents the lean hit may answer for: the raw query text of every cacheable query yoga has
 * executed here (so it parsed, validated and passed the limits), with its scope and the name of its
 * only operation (a request that sends no operationName runs that one: the lean hit's metrics and
 * log line name it as yoga's would). Bounded by bytes, not by count: clients choose the texts, and
 * one text can be large.
 */
import { Kind, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { SegmentedLru } from '../segmented-lru.js';
import type { Scope } from './policy.js';

export type DocumentIndexOptions = {
  /** Texts longer than this are not remembered (they go to yoga every time). Default 20,000 characters. */
  maxDocumentLength?: number;
  /** Total characters remembered. Default 8 MiB worth. */
  maxTotalLength?: number;
};

/** The name of a document's operation when it has exactly one (what runs when no operationName is sent). */
export function soleOperationName(document: DocumentNode): string | undefined {
  let sole: OperationDefinitionNode | undefined;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    if (sole) return undefined;
    sole = definition;
  }
  return sole?.name?.value;
}

/** What is known of a document: its scope, and the name of its operation when it has exactly one (and it is named). */
export type KnownDocument = { scope: Scope; soleOperation: string | undefined };

/** Texts seen once (a client sending a stream of distinct documents) cannot evict those in use (segmented-lru.ts). */
export class DocumentIndex {
  private readonly known: SegmentedLru<KnownDocument>;
  private readonly maxDocumentLength: number;

  constructor(options: DocumentIndexOptions = {}) {
    this.maxDocumentLength = options.maxDocumentLength ?? 20_000;
    this.known = new SegmentedLru(options.maxTotalLength ?? 8 * 1024 * 1024, (_, query) => query.length + 1);
  }

  remember(query: string, scope: Scope, soleOperation?: string): void {
    if (query.length > this.maxDocumentLength) return;
    this.known.get(query); // executed again: in use
    this.known.add(query, { scope, soleOperation });
  }

  recall(query: string): KnownDocument | undefined {
    return this.known.get(query);
  }

  /** Characters held (never above maxTotalLength). */
  bytes(): number {
    return this.known.size();
  }
}
