/**
 * A prototype, for `npm run bench:invalidation -- --store versioned` only (the API never uses it):
 * the response store issue 14 would need at a million entries, measured beside the real one
 * (src/cache/response/redis-store.ts) through the same ResponseStore contract and workload.
 *
 * The real store indexes every entry under each of its tags (about 50 for a list page), so a write
 * costs Redis one sorted-set insert per tag, and that cost grows with the data set (memory latency).
 * This one keeps no index at all. Each bucket has one hash of tag versions:
 *
 * - `P{rc:b}:v` field `@`: the bucket's epoch; `#`: a counter bumped by every invalidation in the
 *   bucket; field TAG: the counter's value when TAG was last invalidated there.
 * - An invalidation is one `HINCRBY` and one `HSET` per bucket: O(tags), whatever the entries.
 * - `lookup` hands out `epoch.counter` as the generation; a write stores the entry with that
 *   generation and its tags, and is refused when any of its tags was invalidated since (its
 *   version is above the generation's counter) or the epoch changed.
 * - A hit checks the same: one `HMGET` of the entry's tags. An invalidated entry is not deleted; it
 *   reads as a miss (and is deleted then) or expires with its TTL.
 * - A lost hash is a new epoch (every entry of the bucket a miss, every write in flight refused),
 *   as a lost `s` is in the real store.
 *
 * What it does not do (a prototype): the in-process layer's `forLayer` tags and TTL, `clear`,
 * trimming the version hash (it holds one field per tag ever invalidated in the bucket), and the
 * real store's fault reporting and metrics.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ResponseStore } from '../src/cache/response/index.js';
import type { Lookup, StoreOutcome } from '../src/cache/response/store.js';

const BUCKETS = 16;

/**
 * KEYS: e, v. ARGV: a new epoch, for a bucket without one (never used, or its hash lost). Answers
 * {value or false, generation}.
 */
const LOOKUP = `
local hv = redis.call('HMGET', KEYS[2], '@', '#')
local epoch, n = hv[1], hv[2] or '0'
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[2], '@', epoch)
end
local generation = epoch .. '.' .. n
local e = redis.call('GET', KEYS[1])
if not e then return {false, generation} end
local first = string.find(e, '\\n', 1, true)
local second = string.find(e, '\\n', first + 1, true)
local eepoch, en = string.match(string.sub(e, 1, first - 1), '^(%w+)%.(%d+)$')
if eepoch ~= epoch then return {false, generation} end
local tags = {}
for tag in string.gmatch(string.sub(e, first + 1, second - 1), '[^\\t]+') do tags[#tags + 1] = tag end
if #tags > 0 then
  local versions = redis.call('HMGET', KEYS[2], unpack(tags))
  local at = tonumber(en)
  for i = 1, #tags do
    if versions[i] and tonumber(versions[i]) > at then
      redis.call('DEL', KEYS[1])
      return {false, generation}
    end
  end
end
return {string.sub(e, second + 1), generation}
`;

/** KEYS: e, v, l. ARGV: value, ttl ms, generation, then each tag. Answers 1 (stored) or 0 (refused). */
const WRITE = `
redis.call('DEL', KEYS[3])
local epoch = redis.call('HGET', KEYS[2], '@')
local gepoch, gn = string.match(ARGV[3], '^(%w+)%.(%d+)$')
-- No epoch: the hash was lost since the lookup (which made one), with whatever it knew.
if not epoch or gepoch ~= epoch then return 0 end
local n = #ARGV - 3
if n > 0 then
  local versions = redis.call('HMGET', KEYS[2], unpack(ARGV, 4))
  local at = tonumber(gn)
  for i = 1, n do
    if versions[i] and tonumber(versions[i]) > at then return 0 end
  end
end
redis.call('SET', KEYS[1], epoch .. '.' .. gn .. '\\n' .. table.concat(ARGV, '\\t', 4) .. '\\n' .. ARGV[1], 'PX', ARGV[2])
return 1
`;

/** KEYS: v. ARGV: each tag. */
const INVALIDATE = `
local n = redis.call('HINCRBY', KEYS[1], '#', 1)
local pairs = {}
for i = 1, #ARGV do
  pairs[2 * i - 1] = ARGV[i]
  pairs[2 * i] = n
end
redis.call('HSET', KEYS[1], unpack(pairs))
return n
`;

export type VersionedStore = ResponseStore & {
  settled(): Promise<void>;
  sweep(): Promise<number>;
  close(): void;
};

/** On one Redis (the bench's own redis-server); its scripts are handed every key, all in one slot, as on a Cluster. */
export async function createVersionedStore(options: { redis: Redis; prefix: string }): Promise<VersionedStore> {
  const { redis, prefix } = options;
  const load = async (lua: string) => String(await redis.call('SCRIPT', 'LOAD', lua));
  const [lookupSha, writeSha, invalidateSha] = await Promise.all([load(LOOKUP), load(WRITE), load(INVALIDATE)]);
  const place = (key: string) => {
    const h = createHash('sha256').update(key).digest('hex').slice(0, 32);
    const b = parseInt(h.slice(0, 2), 16) % BUCKETS;
    return { e: `${prefix}{rc:${b}}:e:${h}`, l: `${prefix}{rc:${b}}:l:${h}`, v: `${prefix}{rc:${b}}:v` };
  };
  const buckets = Array.from({ length: BUCKETS }, (_, b) => `${prefix}{rc:${b}}:v`);
  return {
    async lookup(key: string): Promise<Lookup> {
      const { e, v } = place(key);
      const epoch = randomBytes(6).toString('hex');
      const reply = await redis.evalsha(lookupSha, 2, e, v, epoch);
      if (!Array.isArray(reply)) throw new Error('the versioned lookup answered no list');
      const [value, generation] = reply as unknown[];
      // Text: the values are JSON (a binary value would not survive this; the API's store reads bytes).
      return { value: typeof value === 'string' ? Buffer.from(value) : null, generation: String(generation) };
    },
    async lease(key: string, ms: number) {
      const { l } = place(key);
      return (await redis.set(l, '1', 'PX', ms, 'NX')) === 'OK' ? 'acquired' : 'held';
    },
    async store(key, value, tags, ttlMs, generation): Promise<StoreOutcome> {
      // The header keeps the tags tab-separated on one line: a tag with either character could not be
      // read back whole, and its invalidation would miss the entry (the API's store refuses it too).
      if (tags.some((tag) => /[\t\n]/.test(tag))) return 'refused';
      const { e, v, l } = place(key);
      const stored = await redis.evalsha(writeSha, 3, e, v, l, value, ttlMs, generation, ...tags);
      return stored === 1 ? 'stored' : 'refused';
    },
    async invalidate(tags) {
      if (tags.length === 0) return;
      await Promise.all(buckets.map((v) => redis.evalsha(invalidateSha, 1, v, ...tags)));
    },
    async clear() {
      throw new Error('the versioned prototype cannot clear');
    },
    async stats() {
      // Leases are deleted by the write that follows them: what is left is entries and the hashes.
      const keys = Number(await redis.call('DBSIZE'));
      const hashes = Number(await redis.call('EXISTS', ...buckets));
      return { entries: keys - hashes, bytes: null };
    },
    settled: async () => {},
    sweep: async () => 0,
    close: () => {},
  };
}
