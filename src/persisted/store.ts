/**
 * Where automatic persisted queries are registered: hash → document, shared by every instance in
 * Redis (src/persisted/redis-store.ts) or kept in this process (below). Every document stored was
 * verified against its hash first, so a registration never changes what a hash means.
 */
import { LRUCache } from 'lru-cache';

export type PersistedStore = {
  /** The document registered under a hash; null when there is none. Rejects when the store cannot be read. */
  get(hash: string): Promise<string | null>;
  /** Registers a verified document for the store's TTL (an existing registration is kept). */
  register(hash: string, document: string): Promise<void>;
};

export type MemoryPersistedStoreOptions = {
  ttlMs: number;
  /** Total bytes of documents held. Default 16 MiB. */
  maxTotalBytes?: number;
};

export function createMemoryPersistedStore(options: MemoryPersistedStoreOptions): PersistedStore {
  const documents = new LRUCache<string, string>({
    maxSize: options.maxTotalBytes ?? 16 * 1024 * 1024,
    sizeCalculation: (document) => Buffer.byteLength(document) + 64,
    ttl: options.ttlMs,
  });
  return {
    get: async (hash) => documents.get(hash) ?? null,
    async register(hash, document) {
      if (!documents.has(hash)) documents.set(hash, document);
    },
  };
}
