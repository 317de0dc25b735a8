/**
 * The response store on Redis, built for Redis Cluster from the start.
 *
 * Key layout (P = REDIS_PREFIX, b = bucket of the entry, h = the entry's key hash):
 *   P{rc:b}:e:h      "<epoch>\n" + the serialised response                 (PXAT entry expiry)
 *   P{rc:b}:x:h      the entry's tags, newline-separated                    (PXAT entry expiry)
 *   P{rc:b}:t:TAG    sorted set: h scored by its expiry time                 (PXAT its manifest due time)
 *   P{rc:b}:s        "<sequence>.<epoch>": the bucket's invalidation sequence and epoch
 *   P{rc:b}:m        the bucket's manifest, bound to the epoch (a sorted set, expiring with s),
 *                    each member scored by the time (µs) until which it matters:
 *                      @<epoch>  +inf                the epoch it belongs to
 *                      t:TAG     until when P{rc:b}:t:TAG must exist (its members' latest expiry)
 *                      i:TAG     sequence + memory   TAG's last invalidation, remembered that long
 *   P{rc:b}:l:h      which server is filling entry h after a miss             (PX = lease time)
 * Everything about one entry lives in one bucket, and every key of a bucket shares the hash tag
 * {rc:b}, so each script touches a single slot. Invalidating a tag runs one script per bucket
 * (concurrently; auto-pipelined into one round trip on a single Redis). No KEYS, no SCAN, and every
 * key has a TTL. Index sets drop expired members on every write, and an invalidated entry leaves
 * every index that named it; manifests shed expired fields a bounded batch at a time.
 *
 * Losing any key (Redis evicts with allkeys-lru) costs misses, never a stale answer. A hit reads
 * the entry and `s` in one MGET and is served only when the entry was written under the epoch `s`
 * holds now. The scripts that need the keys a hit never reads (indexes, marks) first check them
 * against the manifest: a missing manifest, a manifest of another epoch, or a missing index the
 * manifest says must exist is evidence lost, and the script fences the bucket: a new epoch in `s`
 * (every entry of the bucket becomes a miss at once) and a fresh manifest. A lost `s` is a new
 * epoch by itself. A lost entry is a miss, a lost tag list (x) or lease only less tidy or less
 * coalesced.
 *
 * Stale write-back: `lookup` hands out the `s` it read as the generation. `store` refuses the write
 * when the epoch changed since, or when any of its tags was invalidated at a later sequence.
 * Sequences are floored to the Redis server's clock in microseconds, so they never run backwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/client.js';
import { INVALIDATION_MEMORY_MS, type Lookup, type ResponseStore, type StoreOutcome } from './store.js';

/**
 * The longest a write may live when its lookup found no sequence key in its bucket: stored into a
 * bucket without s nor m, it cannot be told from one whose s and m were both lost after an
 * invalidation that followed the lookup (a flush, or two evictions within one query).
 */
export const FIRST_WRITE_TTL_MS = 5_000;

/**
 * Shared by both scripts. `fence` starts a new epoch (the caller's random candidate: scripts stay
 * deterministic) with a fresh manifest; `prune` drops at most k manifest members whose time is
 * past (a bounded batch per call, never a scan); `extend` keeps s and m expiring together, no
 * earlier than anything the manifest vouches for.
 */
const COMMON = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function seqText(n) return string.format('%.0f', n) end
local function fence(S, M, epoch, seq, untilMs)
  redis.call('SET', S, seqText(seq) .. '.' .. epoch, 'PXAT', seqText(untilMs))
  redis.call('UNLINK', M) -- freed in the background, however large
  redis.call('ZADD', M, '+inf', '@' .. epoch)
  redis.call('PEXPIREAT', M, seqText(untilMs))
end
local function prune(M, k)
  local dead = redis.call('ZRANGEBYSCORE', M, '-inf', '(' .. seqText(nowUs), 'LIMIT', 0, k)
  if #dead > 0 then redis.call('ZREM', M, unpack(dead)) end
end
local function extend(S, M, untilMs)
  if redis.call('PEXPIRETIME', S) < untilMs then
    redis.call('PEXPIREAT', S, seqText(untilMs))
    redis.call('PEXPIREAT', M, seqText(untilMs))
  end
end
`;

/**
 * KEYS: e, x, l, s, m, then t:TAG for each tag.
 * ARGV: value, ttl ms, generation, h, tags (newline-joined), candidate epoch, memory ms, then each TAG.
 * Answers 1 (stored), 0 (refused) or -1 (refused, and the bucket was fenced).
 */
const WRITE = `${COMMON}
local E, X, L, S, M = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local n = #KEYS - 5
local memory = tonumber(ARGV[7])
local untilMs = nowMs + tonumber(ARGV[2])
redis.call('DEL', L)
local s = redis.call('GET', S)
local seq, epoch
if s then seq, epoch = string.match(s, '^(%d+)%.(%d+)$') end
local gseq, gepoch = string.match(ARGV[3], '^(%d+)%.(%d+)$')
if not s then
  -- s and m expire together: m without s means s was lost. So was s if the lookup saw one.
  if ARGV[3] ~= '0' or redis.call('EXISTS', M) == 1 then
    fence(S, M, ARGV[6], nowUs, nowMs + memory)
    return -1
  end
  -- A bucket nobody has touched (or whose entries all expired): its first epoch. Or one whose s
  -- and m were both lost since this write's lookup, after an invalidation: nothing here can tell.
  -- So such a write lives briefly (FIRST_WRITE_TTL_MS); the next lookups see s and write normally.
  epoch, gepoch, gseq = ARGV[6], ARGV[6], '0'
  untilMs = math.min(untilMs, nowMs + ${FIRST_WRITE_TTL_MS})
  fence(S, M, epoch, nowUs, untilMs)
elseif not epoch or not redis.call('ZSCORE', M, '@' .. epoch) then
  fence(S, M, ARGV[6], math.max(tonumber(seq or '0') + 1, nowUs), nowMs + memory)
  return -1
end
-- The lookup found no s, and the fill lease (below) made one: nothing since its lookup may be
-- assumed, so every mark of its tags refuses (any sequence is later than 0).
-- If the lease's epoch is all the manifest holds, nothing else needs s: it expires with this entry.
-- Only while s is still at sequence 0 (nothing invalidated or fenced since): else refuse.
local leased = false
if ARGV[3] == '0' and s then
  if seq ~= '0' then return 0 end
  gseq, gepoch = '0', epoch
  leased = redis.call('ZCARD', M) == 1
end
if gepoch ~= epoch then return 0 end
for i = 1, n do
  local mark = redis.call('ZSCORE', M, 'i:' .. ARGV[7 + i])
  if mark and tonumber(mark) - memory * 1000 > tonumber(gseq) then return 0 end
end
for i = 1, n do
  if redis.call('EXISTS', KEYS[5 + i]) == 0 then
    local due = redis.call('ZSCORE', M, 't:' .. ARGV[7 + i])
    if due and tonumber(due) > nowUs then
      fence(S, M, ARGV[6], math.max(tonumber(seq) + 1, nowUs), nowMs + memory)
      return -1
    end
  end
end
redis.call('SET', E, epoch .. '\\n' .. ARGV[1], 'PXAT', seqText(untilMs))
redis.call('SET', X, ARGV[5], 'PXAT', seqText(untilMs))
local bucketUntil = untilMs
for i = 1, n do
  local idx, field = KEYS[5 + i], 't:' .. ARGV[7 + i]
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', seqText(nowMs))
  redis.call('ZADD', idx, seqText(untilMs), ARGV[4])
  -- The index lives at least as long as the manifest says it must, whatever it held before.
  local due = math.ceil(tonumber(redis.call('ZSCORE', M, field) or '0') / 1000)
  local keep = math.max(untilMs, due)
  if redis.call('PEXPIRETIME', idx) < keep then redis.call('PEXPIREAT', idx, seqText(keep)) end
  redis.call('ZADD', M, 'GT', seqText(keep * 1000), field)
  bucketUntil = math.max(bucketUntil, keep)
end
prune(M, n + 16)
if leased then
  redis.call('PEXPIREAT', S, seqText(bucketUntil))
  redis.call('PEXPIREAT', M, seqText(bucketUntil))
else
  extend(S, M, bucketUntil)
end
return 1
`;

/**
 * KEYS: l, s, m. ARGV: lease ms, candidate epoch, memory ms.
 * The fill lease after a miss (NX: answers 1 when taken, 0 when another server holds it). A bucket
 * without s gets its first epoch here, so the write that follows lands in a bucket that knows it
 * and lives its full TTL (a write that finds no s at all cannot tell a cold bucket from a lost one).
 */
const LEASE = `${COMMON}
local L, S, M = KEYS[1], KEYS[2], KEYS[3]
if not redis.call('GET', S) then
  -- A cold bucket (s and m expire together) starts at sequence 0: no invalidation since, so lookups
  -- that follow still compare equal to the one that found no s (they may join its coalesced miss).
  -- m without s means s was lost: a fence, at a sequence past every invalidation it may have known.
  local lost = redis.call('EXISTS', M) == 1
  fence(S, M, ARGV[2], lost and nowUs or 0, nowMs + tonumber(ARGV[3]))
end
if redis.call('SET', L, '1', 'PX', ARGV[1], 'NX') then return 1 end
return 0
`;

/**
 * KEYS: s, m, then t:TAG for each tag.
 * ARGV: the bucket's key prefix, memory ms, candidate epoch, then each TAG.
 * Answers the number of entries dropped; negative when the bucket was fenced (-1 - dropped).
 */
const INVALIDATE = `${COMMON}
local S, M = KEYS[1], KEYS[2]
local n = #KEYS - 2
local base = ARGV[1]
local memory = tonumber(ARGV[2])
local s = redis.call('GET', S)
local seq, epoch
if s then seq, epoch = string.match(s, '^(%d+)%.(%d+)$') end
-- Without s nor m the bucket holds nothing servable: a new epoch, but nothing was lost.
local fresh = not s and redis.call('EXISTS', M) == 0
local lost = not epoch or not redis.call('ZSCORE', M, '@' .. epoch)
if not lost then
  for i = 1, n do
    if redis.call('EXISTS', KEYS[2 + i]) == 0 then
      local due = redis.call('ZSCORE', M, 't:' .. ARGV[3 + i])
      if due and tonumber(due) > nowUs then
        lost = true
        break
      end
    end
  end
end
local nextSeq = math.max(tonumber(seq or '0') + 1, nowUs)
local keep = nowMs + memory
if lost then
  -- No evidence, or not all of it: no entry of this bucket is served again. (A bucket without s
  -- is the same case: lookups already miss there.)
  epoch = ARGV[3]
  fence(S, M, epoch, nextSeq, keep)
end
local dropped = 0
for i = 1, n do
  local idx = KEYS[2 + i]
  for _, h in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local tagsKey = base .. 'x:' .. h
    local tags = redis.call('GET', tagsKey)
    if tags then
      for tag in string.gmatch(tags, '[^\\n]+') do
        local other = base .. 't:' .. tag
        -- An index emptied here is gone for good: it need not exist any more.
        if other ~= idx and redis.call('ZREM', other, h) == 1 and redis.call('EXISTS', other) == 0 then
          redis.call('ZREM', M, 't:' .. tag)
        end
      end
    end
    dropped = dropped + redis.call('DEL', base .. 'e:' .. h)
    redis.call('DEL', tagsKey)
  end
  redis.call('DEL', idx)
  redis.call('ZREM', M, 't:' .. ARGV[3 + i])
  redis.call('ZADD', M, 'GT', seqText(nextSeq + memory * 1000), 'i:' .. ARGV[3 + i])
end
prune(M, n + 16)
redis.call('SET', S, seqText(nextSeq) .. '.' .. epoch, 'KEEPTTL')
extend(S, M, keep)
if lost and not fresh then return -1 - dropped end
return dropped
`;

/** Carried by every entry, so that invalidating it empties the store (admin purge) without SCAN. */
export const ALL_TAG = '*';

type ScriptedRedis = RedisClient & {
  kvResponseWrite(numKeys: number, ...args: (string | number)[]): Promise<number>;
  kvResponseLease(numKeys: number, ...args: (string | number)[]): Promise<number>;
  kvResponseInvalidate(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

export type RedisResponseStoreOptions = {
  redis: RedisClient;
  /** REDIS_PREFIX: in front of every key. */
  prefix: string;
  /** Buckets spread entries (and so invalidation work) over cluster slots. Fixed for a deployment. */
  buckets?: number;
  /**
   * Told when a script found a bucket's evidence lost (an evicted index, manifest or sequence) and
   * fenced it: every entry of that bucket became a miss. For a counter; must not throw.
   */
  onFence?(bucket: number, by: 'write' | 'invalidate'): void;
};

/** A fresh epoch candidate: digits only, so that `s` still reads as a number to older scripts. */
const newEpoch = () => String(randomBytes(6).readUIntBE(0, 6)).padStart(15, '0');

/**
 * The entry as served: the stored bytes without their epoch line, or null when `stored` was written
 * under another epoch than `seq` ("<sequence>.<epoch>") names, or `seq` is gone.
 */
function servable(stored: Buffer | null, seq: Buffer | null): Buffer | null {
  if (!stored || !seq) return null;
  const dot = seq.indexOf(0x2e);
  if (dot < 0) return null;
  const n = seq.length - dot - 1;
  if (n <= 0 || stored.length <= n || stored[n] !== 0x0a) return null;
  return stored.compare(seq, dot + 1, seq.length, 0, n) === 0 ? stored.subarray(n + 1) : null;
}

export function createRedisResponseStore(options: RedisResponseStoreOptions): ResponseStore {
  const { prefix, onFence } = options;
  const buckets = options.buckets ?? 16;
  const redis = options.redis as ScriptedRedis;
  if (typeof (options.redis as unknown as Partial<ScriptedRedis>).kvResponseWrite !== 'function') {
    options.redis.defineCommand('kvResponseWrite', { lua: WRITE });
    options.redis.defineCommand('kvResponseLease', { lua: LEASE });
    options.redis.defineCommand('kvResponseInvalidate', { lua: INVALIDATE });
  }

  const hashOf = (key: string) => (/^[0-9a-f]{16,}$/.test(key) ? key : createHash('sha256').update(key).digest('hex'));
  const bucketOf = (h: string) => parseInt(h.slice(0, 8), 16) % buckets;
  const base = (b: number) => `${prefix}{rc:${b}}:`;

  async function invalidateAll(tags: readonly string[]) {
    const unique = [...new Set(tags)];
    if (!unique.length) return;
    await Promise.all(
      Array.from({ length: buckets }, async (_, b) => {
        const keys = [`${base(b)}s`, `${base(b)}m`, ...unique.map((t) => `${base(b)}t:${t}`)];
        const dropped = await redis.kvResponseInvalidate(
          keys.length,
          ...keys,
          base(b),
          INVALIDATION_MEMORY_MS,
          newEpoch(),
          ...unique,
        );
        if (dropped < 0) onFence?.(b, 'invalidate');
      }),
    );
  }

  return {
    async lookup(key): Promise<Lookup> {
      const h = hashOf(key);
      const b = base(bucketOf(h));
      const [value, seq] = await redis.mgetBuffer(`${b}e:${h}`, `${b}s`);
      // A bucket at sequence 0 (given its epoch by a fill lease, nothing invalidated since) reads as
      // one without s: the same generation, for the write guard and for coalescing alike.
      const generation = seq && !seq.toString('latin1').startsWith('0.') ? seq.toString('latin1') : '0';
      return { value: servable(value ?? null, seq ?? null), generation };
    },
    async lease(key, ms) {
      const h = hashOf(key);
      const b = base(bucketOf(h));
      const keys = [`${b}l:${h}`, `${b}s`, `${b}m`];
      const ok = await redis.kvResponseLease(
        keys.length,
        ...keys,
        Math.max(1, Math.round(ms)),
        newEpoch(),
        INVALIDATION_MEMORY_MS,
      );
      return ok === 1 ? 'acquired' : 'held';
    },
    async store(key, value, tags, ttlMs, generation): Promise<StoreOutcome> {
      const h = hashOf(key);
      const bucket = bucketOf(h);
      const b = base(bucket);
      const all = [...new Set([ALL_TAG, ...tags])];
      // The fill lease (if any) goes with the write, stored or refused.
      const keys = [`${b}e:${h}`, `${b}x:${h}`, `${b}l:${h}`, `${b}s`, `${b}m`, ...all.map((t) => `${b}t:${t}`)];
      const ttl = Math.max(1, Math.round(ttlMs));
      const ok = await redis.kvResponseWrite(
        keys.length,
        ...keys,
        value,
        ttl,
        generation,
        h,
        all.join('\n'),
        newEpoch(),
        INVALIDATION_MEMORY_MS,
        ...all,
      );
      if (ok < 0) onFence?.(bucket, 'write');
      return ok === 1 ? 'stored' : 'refused';
    },
    invalidate: invalidateAll,
    clear: () => invalidateAll([ALL_TAG]),
    /** Every entry carries ALL_TAG, so the live members of each bucket's ALL index are the entries. */
    async stats() {
      const now = Date.now();
      const counts = await Promise.all(
        Array.from({ length: buckets }, (_, b) => redis.zcount(`${base(b)}t:${ALL_TAG}`, now, '+inf')),
      );
      return { entries: counts.reduce((a, c) => a + c, 0), bytes: null };
    },
  };
}
