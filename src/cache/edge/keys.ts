/**
 * Surrogate keys: how a response-cache tag is named at the edge (a CDN or Varnish), the same way on
 * the answer (`Surrogate-Key`, `Cache-Tag`) and in a purge. Tags may hold client text (a country
 * filter), so every byte outside a small safe set is percent-encoded: a key is then one token with
 * no space, comma or control character, and distinct tags stay distinct keys.
 */

/**
 * The longest key list an answer carries. Edges cap header sizes (Varnish: 8 KiB per header by
 * default; Fastly and Cloudflare: 16 KiB for all keys), and a truncated list would leave the answer
 * unpurgeable by the tags it lost; an answer whose keys do not fit is not kept at the edge at all.
 */
export const EDGE_KEYS_MAX_BYTES = 4096;

const UNSAFE = /[^A-Za-z0-9._:~-]/gu;
const percent = (c: string) =>
  [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');

/**
 * The key every answer kept at the edge carries, so one purge can drop them all (an administrator's
 * purge of everything). `edgeKey` writes `%` only as `%` and two upper-case hex digits, so no tag can
 * ever be named this.
 */
export const EDGE_ALL_KEY = '%all';

/** One tag as an edge key. */
export const edgeKey = (tag: string): string => tag.replace(UNSAFE, percent);

/**
 * The space-separated keys of a tag set (EDGE_ALL_KEY first), or null when there are none or they
 * exceed EDGE_KEYS_MAX_BYTES.
 */
export function edgeKeysOf(tags: Iterable<string>): string | null {
  const keys = [...new Set([...tags].map(edgeKey))].filter((k) => k.length > 0);
  if (!keys.length) return null;
  const joined = [EDGE_ALL_KEY, ...keys].join(' ');
  return joined.length <= EDGE_KEYS_MAX_BYTES ? joined : null;
}

/** Keys for purging, in space-separated batches of at most EDGE_KEYS_MAX_BYTES each. */
export function edgeKeyBatches(tags: Iterable<string>): string[] {
  const batches: string[] = [];
  let current = '';
  for (const key of new Set([...tags].map(edgeKey))) {
    // A key longer than that is on no answer (its list would not fit): nothing to purge.
    if (!key || key.length > EDGE_KEYS_MAX_BYTES) continue;
    if (current && current.length + 1 + key.length > EDGE_KEYS_MAX_BYTES) {
      batches.push(current);
      current = '';
    }
    current = current ? `${current} ${key}` : key;
  }
  if (current) batches.push(current);
  return batches;
}
