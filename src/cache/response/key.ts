/**
 * The response-cache key: SHA-256 (synchronous, node:crypto) of the document as sent, the operation
 * name, the variables in a stable order, and the session ('' for PUBLIC operations: one entry for
 * everybody; 'u:<id>' or 'anon' for PRIVATE ones).
 */
import stableStringify from 'fast-json-stable-stringify';
import { createHash } from 'node:crypto';

export type KeyParts = {
  documentString: string;
  operationName?: string | null | undefined;
  variableValues?: Record<string, unknown> | null | undefined;
  sessionId?: string | null | undefined;
};

export function responseCacheKey(parts: KeyParts): string {
  return createHash('sha256')
    .update(parts.documentString)
    .update('\0')
    .update(parts.operationName ?? '')
    .update('\0')
    .update(stableStringify(parts.variableValues ?? {}))
    .update('\0')
    .update(parts.sessionId ?? '')
    .digest('hex');
}
