/**
 * Persisted operations: automatic persisted queries (APQ) registered in a shared store, and trusted
 * documents from a manifest. Not domain-specific; the composition root wires it:
 *
 *   const persisted = createPersistedOperations({ store, trusted, trustedOnly, ... });
 *   createYoga({ plugins: [persisted.plugin, ...] });              // resolves hashes before yoga reads the query
 *   createResponseCache({ persistedDocument: persisted.documentOf }); // the lean hit's synchronous view
 */
import type { Plugin } from 'graphql-yoga';
import { MemoryAttemptCounters, type AttemptCounters } from '../auth/login-throttle.js';
import { DEFAULT_REGISTRATIONS_PER_MINUTE, registrationBudget } from './budget.js';
import { KnownDocuments } from './known.js';
import type { TrustedDocuments } from './manifest.js';
import { persistedOperationsPlugin, type RegistrationRefusal } from './plugin.js';
import type { PersistedStore } from './store.js';

export type PersistedOperationsConfig = {
  /** APQ registrations (null: APQ off). */
  store: PersistedStore | null;
  trusted?: TrustedDocuments;
  trustedOnly?: boolean;
  /** Largest document registered, in bytes without its ignored characters (./canonical.ts). Default 20,000. */
  maxDocumentBytes?: number;
  /**
   * Fixed-window counters for the registration budget: shared ones (Redis) across instances.
   * Default: in this process.
   */
  budgetCounters?: Pick<AttemptCounters, 'take'>;
  /** Registrations per client address per minute. Default 30. */
  registrationsPerMinute?: number;
  /** The client's address (e.g. from the socket, or X-Forwarded-For behind trusted proxies). Default: unknown. */
  addressOf?(serverContext: unknown, request: Request): string | undefined;
  /** Bytes of verified hash → document pairs kept in this process for the lean hit. Default 8 MiB. */
  maxKnownBytes?: number;
  onStoreError?(operation: 'get' | 'register' | 'budget', error: unknown): void;
};

export type PersistedOperations = {
  plugin: Plugin;
  /** The document of a hash, if this process can vouch for it without asking anyone. */
  documentOf(hash: string): string | undefined;
  /** Bytes of verified pairs held in process (never above maxKnownBytes). */
  knownBytes(): number;
  /** Documents executed but not registered since start, for one reason or all. */
  refusedRegistrations(reason?: RegistrationRefusal): number;
};

export const DEFAULT_MAX_DOCUMENT_BYTES = 20_000;

export function createPersistedOperations(config: PersistedOperationsConfig): PersistedOperations {
  const known = new KnownDocuments(config.maxKnownBytes);
  const trusted = config.trusted ?? new Map<string, string>();
  const trustedOnly = config.trustedOnly ?? false;
  const refused = new Map<RegistrationRefusal, number>();
  return {
    plugin: persistedOperationsPlugin({
      store: config.store,
      known,
      trusted,
      trustedOnly,
      maxDocumentBytes: config.maxDocumentBytes ?? DEFAULT_MAX_DOCUMENT_BYTES,
      budget: registrationBudget(
        config.budgetCounters ?? new MemoryAttemptCounters(),
        config.registrationsPerMinute ?? DEFAULT_REGISTRATIONS_PER_MINUTE,
      ),
      addressOf: config.addressOf ?? (() => undefined),
      onStoreError: config.onStoreError ?? (() => {}),
      onRefused: (reason) => refused.set(reason, (refused.get(reason) ?? 0) + 1),
    }),
    documentOf: (hash) => trusted.get(hash) ?? (trustedOnly ? undefined : known.get(hash)),
    knownBytes: () => known.bytes(),
    refusedRegistrations: (reason) =>
      reason ? (refused.get(reason) ?? 0) : [...refused.values()].reduce((a, b) => a + b, 0),
  };
}

export { createMemoryPersistedStore, type PersistedStore } from './store.js';
export { createRedisPersistedStore } from './redis-store.js';
export { loadManifest, ManifestError, parseManifest, type TrustedDocuments } from './manifest.js';
export { sha256Hex } from './ids.js';
export { DEFAULT_REGISTRATIONS_PER_MINUTE } from './budget.js';
export type { RegistrationRefusal } from './plugin.js';
