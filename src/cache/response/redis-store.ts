/**
 * The response store on Redis, built for Redis Cluster from the start.
 *
 * Key layout (P = REDIS_PREFIX, b = bucket of the entry, h = the entry's key hash):
 *   P{rc:b}:e:h      the serialised response                       (PX = entry TTL)
 *   P{rc:b}:x:h      the entry's tags, newline-separated            (PX = entry TTL)
 *   P{rc:b}:t:TAG    sorted set: h scored by its expiry time         (PX = longest member TTL)
 *   P{rc:b}:i:TAG    sequence at which TAG was last invalidated      (PX = INVALIDATION_MEMORY_MS)
 *   P{rc:b}:s        the bucket's invalidation sequence              (PX = 1 day, refreshed)
 *   P{rc:b}:l:h      which server is filling entry h after a miss     (PX = lease time)
 * Everything about one entry lives in one bucket, and every key of a bucket shares the hash tag
 * {rc:b}, so each script touches a single slot. Invalidating a tag runs one script per bucket
 * (concurrently; auto-pipelined into one round trip on a single Redis). No KEYS, no SCAN, and every
 * key has a TTL. Index sets drop expired members on every write, so they stay as small as the live
 * entries they point to, and an invalidated entry leaves every index that named it.
 *
 * Stale write-back: `lookup` reads the entry and its bucket's sequence in one MGET. `store` refuses
 * the write when any of its tags was invalidated at a later sequence. Sequences are floored to the
 * Redis server's clock in microseconds, so a counter lost to eviction restarts above its old values.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { INVALIDATION_MEMORY_MS, type Lookup, type ResponseStore, type StoreOutcome } from './store.js';

const WRITE = `
local n = (#KEYS - 3) / 2
local seen = tonumber(ARGV[3])
redis.call('DEL', KEYS[3])
for i = 1, n do
  local mark = redis.call('GET', KEYS[3 + n + i])
  if mark and tonumber(mark) > seen then return 0 end
end
local ttl = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
redis.call('SET', KEYS[2], ARGV[5], 'PX', ttl)
for i = 1, n do
  local idx = KEYS[3 + i]
  redis.call('ZREMRANGEBYSCORE', idx, '-inf', now)
  redis.call('ZADD', idx, now + ttl, ARGV[4])
  if redis.call('PTTL', idx) < ttl then redis.call('PEXPIRE', idx, ttl) end
end
return 1
`;

const INVALIDATE = `
local n = (#KEYS - 1) / 2
local base = ARGV[1]
local t = redis.call('TIME')
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local seq = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, nowUs)
local seqText = string.format('%.0f', seq)
redis.call('SET', KEYS[1], seqText, 'PX', 86400000)
local dropped = 0
for i = 1, n do
  local idx = KEYS[1 + i]
  for _, h in ipairs(redis.call('ZRANGE', idx, 0, -1)) do
    local tagsKey = base .. 'x:' .. h
    local tags = redis.call('GET', tagsKey)
    if tags then
      for tag in string.gmatch(tags, '[^\\n]+') do
        local other = base .. 't:' .. tag
        if other ~= idx then redis.call('ZREM', other, h) end
      end
    end
    dropped = dropped + redis.call('DEL', base .. 'e:' .. h)
    redis.call('DEL', tagsKey)
  end
  redis.call('DEL', idx)
  redis.call('SET', KEYS[1 + n + i], seqText, 'PX', tonumber(ARGV[2]))
end
return dropped
`;

/** Carried by every entry, so that invalidating it empties the store (admin purge) without SCAN. */
export const ALL_TAG = '*';

type ScriptedRedis = Redis & {
  kvResponseWrite(numKeys: number, ...args: (string | number)[]): Promise<number>;
  kvResponseInvalidate(numKeys: number, ...args: (string | number)[]): Promise<number>;
};

export type RedisResponseStoreOptions = {
  redis: Redis;
  /** REDIS_PREFIX: in front of every key. */
  prefix: string;
  /** Buckets spread entries (and so invalidation work) over cluster slots. Fixed for a deployment. */
  buckets?: number;
};

export function createRedisResponseStore(options: RedisResponseStoreOptions): ResponseStore {
  const { prefix } = options;
  const buckets = options.buckets ?? 16;
  const redis = options.redis as ScriptedRedis;
  if (typeof (options.redis as unknown as Partial<ScriptedRedis>).kvResponseWrite !== 'function') {
    options.redis.defineCommand('kvResponseWrite', { lua: WRITE });
    options.redis.defineCommand('kvResponseInvalidate', { lua: INVALIDATE });
  }

  const hashOf = (key: string) => (/^[0-9a-f]{16,}$/.test(key) ? key : createHash('sha256').update(key).digest('hex'));
  const bucketOf = (h: string) => parseInt(h.slice(0, 8), 16) % buckets;
  const base = (b: number) => `${prefix}{rc:${b}}:`;

  async function invalidateAll(tags: readonly string[]) {
    const unique = [...new Set(tags)];
    if (!unique.length) return;
    await Promise.all(
      Array.from({ length: buckets }, (_, b) => {
        const keys = [
          `${base(b)}s`,
          ...unique.map((t) => `${base(b)}t:${t}`),
          ...unique.map((t) => `${base(b)}i:${t}`),
        ];
        return redis.kvResponseInvalidate(keys.length, ...keys, base(b), INVALIDATION_MEMORY_MS);
      }),
    );
  }

  return {
    async lookup(key): Promise<Lookup> {
      const h = hashOf(key);
      const b = base(bucketOf(h));
      const [value, seq] = await redis.mgetBuffer(`${b}e:${h}`, `${b}s`);
      return { value: value ?? null, generation: seq ? seq.toString() : '0' };
    },
    async lease(key, ms) {
      const h = hashOf(key);
      const ok = await redis.set(`${base(bucketOf(h))}l:${h}`, '1', 'PX', Math.max(1, Math.round(ms)), 'NX');
      return ok === 'OK' ? 'acquired' : 'held';
    },
    async store(key, value, tags, ttlMs, generation): Promise<StoreOutcome> {
      const h = hashOf(key);
      const b = base(bucketOf(h));
      const all = [...new Set([ALL_TAG, ...tags])];
      // The fill lease (if any) goes with the write, stored or refused.
      const keys = [
        `${b}e:${h}`,
        `${b}x:${h}`,
        `${b}l:${h}`,
        ...all.map((t) => `${b}t:${t}`),
        ...all.map((t) => `${b}i:${t}`),
      ];
      const ttl = Math.max(1, Math.round(ttlMs));
      const ok = await redis.kvResponseWrite(keys.length, ...keys, value, ttl, generation, h, all.join('\n'));
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
