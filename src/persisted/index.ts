/**
 * Persisted operations: automatic persisted queries (APQ) registered in a shared store, and trusted
 * documents from a manifest. Not domain-specific; the composition root wires it:
 *
 *   const persisted = createPersistedOperations({ store, trusted, trustedOnly, ... });
 *   createYoga({ plugins: [persisted.plugin, ...] });              // resolves hashes before yoga reads the query
 *   createResponseCache({ persistedDocument: persisted.documentOf }); // the lean hit's synchronous view
 */
import type { Plugin } from 'graphql-yoga';
import { KnownDocuments } from './known.js';
import type { TrustedDocuments } from './manifest.js';
import { persistedOperationsPlugin } from './plugin.js';
import type { PersistedStore } from './store.js';

export type PersistedOperationsConfig = {
  /** APQ registrations (null: APQ off). */
  store: PersistedStore | null;
  trusted?: TrustedDocuments;
  trustedOnly?: boolean;
  /** Largest document registered, in bytes. Default 20,000. */
  maxDocumentBytes?: number;
  /** Bytes of verified hash → document pairs kept in this process for the lean hit. Default 8 MiB. */
  maxKnownBytes?: number;
  onStoreError?(operation: 'get' | 'register', error: unknown): void;
};

export type PersistedOperations = {
  plugin: Plugin;
  /** The document of a hash, if this process can vouch for it without asking anyone. */
  documentOf(hash: string): string | undefined;
  /** Bytes of verified pairs held in process (never above maxKnownBytes). */
  knownBytes(): number;
};

export const DEFAULT_MAX_DOCUMENT_BYTES = 20_000;

export function createPersistedOperations(config: PersistedOperationsConfig): PersistedOperations {
  const known = new KnownDocuments(config.maxKnownBytes);
  const trusted = config.trusted ?? new Map<string, string>();
  const trustedOnly = config.trustedOnly ?? false;
  return {
    plugin: persistedOperationsPlugin({
      store: config.store,
      known,
      trusted,
      trustedOnly,
      maxDocumentBytes: config.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES,
      onStoreError: config.onStoreError ?? (() => {}),
    }),
    documentOf: (hash) => trusted.get(hash) ?? (trustedOnly ? undefined : known.get(hash)),
    knownBytes: () => known.bytes(),
  };
}

export { createMemoryPersistedStore, type PersistedStore } from './store.js';
export { createRedisPersistedStore } from './redis-store.js';
export { loadManifest, ManifestError, parseManifest, type TrustedDocuments } from './manifest.js';
export { sha256Hex } from './ids.js';
