/**
 * Which documents may be registered. The size bound is on the document's canonical form (graphql's
 * `stripIgnoredCharacters`: no comments, no insignificant whitespace or commas), which is what the
 * operation costs; and a text padded far beyond that form (comments or whitespace: more than twice
 * it plus 1 KB) is executed but not registered, since the hash names the text as sent and the
 * padding would be stored with it. So a stored document is at most 2 × maxBytes + 1 KB.
 */
import { stripIgnoredCharacters } from 'graphql';

const PADDING_ALLOWANCE = 1024;

export type Unregistrable = 'too_large' | 'padded';

/** Null when the document may be registered; otherwise why not. */
export function unregistrable(document: string, maxBytes: number): Unregistrable | null {
  const bytes = Buffer.byteLength(document);
  // Past this bound no canonical form can pass both tests: no need to lex it.
  if (bytes > 2 * maxBytes + PADDING_ALLOWANCE) return 'too_large';
  let canonical: string;
  try {
    canonical = stripIgnoredCharacters(document);
  } catch {
    return 'too_large'; // does not lex; yoga refuses it anyway, and nothing is registered
  }
  const canonicalBytes = Buffer.byteLength(canonical);
  if (canonicalBytes > maxBytes) return 'too_large';
  return bytes > 2 * canonicalBytes + PADDING_ALLOWANCE ? 'padded' : null;
}
