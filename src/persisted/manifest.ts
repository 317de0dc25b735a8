/**
 * The trusted documents manifest: a JSON object mapping each document's id to its text,
 *   { "sha256:<64 hex>": "query Kit($id: ID!) { kit(id: $id) { name } }", ... }
 * (the `sha256:` prefix is optional). Read once at start-up; every id must be the SHA-256 of its
 * document and every document must parse, or start-up stops with a message naming the entry.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'graphql';
import { z } from 'zod';
import { hashOfId, sha256Hex } from './ids.js';

export class ManifestError extends Error {
  override name = 'ManifestError';
}

const manifestSchema = z.record(z.string(), z.string().min(1, 'is an empty document'));

/** hash (64 lower-case hex) → document. */
export type TrustedDocuments = ReadonlyMap<string, string>;

export function parseManifest(json: string): TrustedDocuments {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new ManifestError(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length ? `"${issue.path.join('.').slice(0, 80)}": ` : '';
    throw new ManifestError(`must be a JSON object of "sha256:<hex>" → document: ${where}${issue.message}`);
  }
  const documents = new Map<string, string>();
  for (const [id, document] of Object.entries(parsed.data)) {
    const name = `"${id.slice(0, 80)}"`;
    const hash = hashOfId(id);
    if (!hash) throw new ManifestError(`${name} is not a sha256 id (64 hex digits, optionally prefixed "sha256:")`);
    if (sha256Hex(document) !== hash) throw new ManifestError(`${name} is not the SHA-256 of its document`);
    try {
      parse(document);
    } catch (error) {
      throw new ManifestError(`${name} does not parse: ${error instanceof Error ? error.message : String(error)}`);
    }
    documents.set(hash, document);
  }
  return documents;
}

export function loadManifest(path: string): TrustedDocuments {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : String(error);
    throw new ManifestError(`cannot read ${path} (${reason})`);
  }
  try {
    return parseManifest(text);
  } catch (error) {
    if (error instanceof ManifestError) throw new ManifestError(`${path}: ${error.message}`);
    throw error;
  }
}
