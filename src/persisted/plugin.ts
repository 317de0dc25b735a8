/**
 * Persisted operations for yoga, before it reads the query: resolves a request that names a
 * document by hash instead of sending it, registers automatic persisted queries (APQ), and in
 * trusted-only mode refuses every document that is not in the manifest.
 *
 *   hash only        trusted manifest → this process's verified pairs → the store (a failed read is
 *                    a miss: PersistedQueryNotFound, and the client resends the query)
 *   query + hash     the hash must be the query's SHA-256 (else PERSISTED_QUERY_HASH_MISMATCH, nothing
 *                    stored); the pair is registered once the operation executes (so it parsed,
 *                    validated and passed the limits), if it is within the bounds (./canonical.ts)
 *                    and its client's registration budget (./budget.ts); else it is only executed
 *   query only       as always, unless trusted-only mode: then only a manifest document's text
 */
import type { GraphQLParams, Plugin } from 'graphql-yoga';
import {
  hashMismatch,
  invalidPersistedQuery,
  persistedQueryNotFound,
  persistedQueryNotSupported,
  untrustedDocument,
  versionNotSupported,
} from './errors.js';
import type { RegistrationBudget } from './budget.js';
import { unregistrable, type Unregistrable } from './canonical.js';
import { hashOfId, sha256Hex } from './ids.js';
import type { KnownDocuments } from './known.js';
import type { TrustedDocuments } from './manifest.js';
import type { PersistedStore } from './store.js';

export type PersistedOperationsOptions = {
  /** Where APQ registrations live; null: APQ off (a hash-only request is answered PersistedQueryNotSupported). */
  store: PersistedStore | null;
  known: KnownDocuments;
  trusted: TrustedDocuments;
  /** Accept only documents of the manifest (by id or by their exact text). */
  trustedOnly: boolean;
  /** Documents larger without their ignored characters (or padded) are executed but not registered. */
  maxDocumentBytes: number;
  /** Registrations the client (by address) may still make. */
  budget: RegistrationBudget;
  /** The client's address, from yoga's server context and the request. */
  addressOf(serverContext: unknown, request: Request): string | undefined;
  /** A store read or write (or the budget's counter) failed: the request goes on without it; this reports it. */
  onStoreError(operation: 'get' | 'register' | 'budget', error: unknown): void;
  /** A document was executed but not registered, and why. */
  onRefused(reason: RegistrationRefusal): void;
};

export type RegistrationRefusal = Unregistrable | 'over_budget' | 'budget_unavailable';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `documentId` from a POST body, or from a GET's URL (yoga's GET parser reads only the four standard parameters). */
function documentIdOf(params: GraphQLParams, request: Request): unknown {
  if ('documentId' in params) return params.documentId;
  if (request.method !== 'GET' || !request.url.includes('documentId=')) return undefined;
  return new URL(request.url).searchParams.get('documentId') ?? undefined;
}

/** The hash a request names (`extensions.persistedQuery` or `documentId`), null when none; throws when malformed. */
function requestedHash(params: GraphQLParams, request: Request): string | null {
  const extensions: unknown = params.extensions;
  const apq = isObject(extensions) ? extensions.persistedQuery : undefined;
  if (apq !== undefined && apq !== null) {
    if (!isObject(apq)) throw invalidPersistedQuery();
    if (apq.version !== 1) throw versionNotSupported();
    const hash = typeof apq.sha256Hash === 'string' && !apq.sha256Hash.includes(':') ? hashOfId(apq.sha256Hash) : null;
    if (!hash) throw invalidPersistedQuery();
    return hash;
  }
  const documentId = documentIdOf(params, request);
  if (documentId === undefined || documentId === null) return null;
  const hash = typeof documentId === 'string' && documentId.startsWith('sha256:') ? hashOfId(documentId) : null;
  if (!hash) throw invalidPersistedQuery();
  return hash;
}

export function persistedOperationsPlugin(options: PersistedOperationsOptions): Plugin {
  const { store, known, trusted, trustedOnly } = options;
  /** Registrations waiting for their operation to execute, by request context. */
  const pending = new WeakMap<object, { hash: string; document: string; address: string | undefined }>();

  /** Whether the client may register one more document (no, when its counter cannot be reached). */
  async function withinBudget(address: string | undefined): Promise<boolean> {
    try {
      if (await options.budget(address)) return true;
      options.onRefused('over_budget');
    } catch (error) {
      options.onStoreError('budget', error);
      options.onRefused('budget_unavailable');
    }
    return false;
  }

  async function resolve(hash: string): Promise<string | null> {
    const listed = trusted.get(hash);
    if (listed !== undefined) return listed;
    if (trustedOnly || !store) return null;
    const local = known.get(hash);
    if (local !== undefined) return local;
    let stored: string | null;
    try {
      stored = await store.get(hash);
    } catch (error) {
      options.onStoreError('get', error);
      return null;
    }
    // Checked again: what comes back from a shared store is served only if it is what the hash says.
    if (stored === null || sha256Hex(stored) !== hash) return null;
    known.learn(hash, stored);
    return stored;
  }

  return {
    async onParams({ params, request, setParams, context }) {
      const hash = requestedHash(params, request);
      const { query, operationName, variables, extensions } = params;
      if (hash === null) {
        if (trustedOnly && typeof query === 'string' && !trusted.has(sha256Hex(query))) throw untrustedDocument();
        return;
      }
      // yoga refuses parameters it does not know: `documentId` has done its job.
      const resolved = (document: string) => setParams({ query: document, operationName, variables, extensions });
      if (typeof query === 'string' && query !== '') {
        if (sha256Hex(query) !== hash) throw hashMismatch();
        if (!trusted.has(hash)) {
          if (trustedOnly) throw untrustedDocument();
          const refusal = store ? unregistrable(query, options.maxDocumentBytes) : null;
          if (refusal) options.onRefused(refusal);
          else if (store) pending.set(context, { hash, document: query, address: options.addressOf(context, request) });
        }
        resolved(query);
        return;
      }
      const document = await resolve(hash);
      if (document === null) {
        if (trustedOnly) throw untrustedDocument();
        throw store ? persistedQueryNotFound() : persistedQueryNotSupported();
      }
      resolved(document);
    },
    async onExecute({ args }) {
      const registration = pending.get(args.contextValue);
      if (!registration || !store) return;
      pending.delete(args.contextValue);
      if (!(await withinBudget(registration.address))) return;
      known.learn(registration.hash, registration.document);
      try {
        await store.register(registration.hash, registration.document);
      } catch (error) {
        options.onStoreError('register', error);
      }
    },
  };
}
