/**
 * The errors of persisted operations, each with a stable `extensions.code`. Apollo's
 * PersistedQueryLink recognises the first two by message or code and then resends the query (not
 * found) or stops hashing (not supported). `http.spec` as yoga's own request errors: 400 for
 * `application/graphql-response+json`, 200 for plain JSON; the link retries on either.
 */
import { createGraphQLError } from 'graphql-yoga';

const retryable = (message: string, code: string) => () =>
  createGraphQLError(message, { extensions: { code, http: { spec: true, status: 400 } } });
const refused = (message: string, code: string) => () =>
  createGraphQLError(message, { extensions: { code, http: { status: 400 } } });

export const persistedQueryNotFound = retryable('PersistedQueryNotFound', 'PERSISTED_QUERY_NOT_FOUND');
export const persistedQueryNotSupported = retryable('PersistedQueryNotSupported', 'PERSISTED_QUERY_NOT_SUPPORTED');
export const hashMismatch = refused(
  'the persisted query hash is not the SHA-256 of the query sent with it',
  'PERSISTED_QUERY_HASH_MISMATCH',
);
export const versionNotSupported = refused(
  'only version 1 of extensions.persistedQuery is supported',
  'PERSISTED_QUERY_VERSION_NOT_SUPPORTED',
);
export const invalidPersistedQuery = refused(
  'a persisted document id is 64 hex digits (extensions.persistedQuery.sha256Hash, or documentId "sha256:<hex>")',
  'PERSISTED_QUERY_INVALID',
);
export const untrustedDocument = refused(
  'only trusted documents are accepted here: send the id of a document in the trusted documents manifest',
  'UNTRUSTED_DOCUMENT',
);
