/**
 * Persisted document ids: the SHA-256 of the document text, as 64 hex digits. Apollo's APQ sends
 * them bare (`extensions.persistedQuery.sha256Hash`); the GraphQL-over-HTTP persisted documents
 * proposal prefixes them (`documentId: "sha256:<hex>"`). Both are read here, lower-cased.
 */
import { createHash } from 'node:crypto';

const HEX = /^[0-9a-f]{64}$/i;

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** The hash of a bare or `sha256:`-prefixed id; null when it is neither. */
export function hashOfId(id: string): string | null {
  const hex = id.startsWith('sha256:') ? id.slice(7) : id;
  return HEX.test(hex) ? hex.toLowerCase() : null;
}
