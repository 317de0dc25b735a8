/**
 * The response store on Redis, built for Redis Cluster from the start, with invalidation whose cost
 * does not depend on the number of entries: no tag index, so nothing to walk.
 *
 * Key layout (P = REDIS_PREFIX, b = bucket of the entry, h = its key hash, 128 bits in hex):
 *   P{rc:b}:c      the bucket's clock, "<epoch>.<stamp>.<counter>": a random epoch (12 hex digits);
 *                  the counter (16 digits), moved forward by every invalidation in the bucket (to
 *                  the server's clock in µs at least); the stamp, the counter's value at the last
 *                  invalidation that concerned an entry here.
 *   P{rc:b}:v      hash: "@" the epoch again (c and v must agree); per tag, the counter at its last
 *                  invalidation, with a "w" after it once an entry carrying it was written since.
 *   P{rc:b}:r:h    "<clock>\n<tags, tab-separated>\n<the serialised response>": the clock it was
 *                  written (or last checked) at, and what invalidates it.
 *   P{rc:b}:l:h    which server is filling entry h after a miss (its owner token; PX = lease time).
 * Everything about one entry lives in one bucket, and every key of a bucket shares the hash tag
 * {rc:b}: on a Cluster each script touches one slot and is handed every key it touches (the Cluster
 * contract); a script that spans buckets runs only on a single Redis.
 * No KEYS, no SCAN, every key has a TTL.
 *
 * Invalidating tags is, per bucket, one script: bump the counter, set each tag's version to it, and
 * move the stamp too if one of the tags was marked "w". No entry is visited: the work is O(tags), at
 * ten entries or a million. On a single Redis, where one script may touch any key, one script does
 * it for every bucket (one command per write instead of one per bucket). An invalidated entry is not
 * deleted; it is found out when next read (and deleted then), or it expires.
 *
 * A hit is one MGET of the entry and c, served when the entry's stamp is c's: nothing it carries was
 * invalidated since (every tag it carries has been marked "w" since its write, so an invalidation
 * of one moves the stamp). Another stamp of the same epoch goes to a script that reads the entry's
 * tags' versions (one HMGET): one newer than the counter it was checked at makes it a miss (and
 * deletes it); else it is served and given the clock, so its next hit is a plain MGET again.
 *
 * Stale write-back: `lookup` hands out the clock as the generation. `store` refuses the write when
 * the epoch changed since, when one of its tags was invalidated after that counter, or when that
 * counter is ahead of the clock (a history a failover lost).
 *
 * Losing any key (Redis evicts with allkeys-lru) costs misses, never a stale answer. A lost c or v
 * (or a v of another epoch) is found by the next script that needs them, which fences the bucket: a
 * new epoch in both, so every entry of the bucket (written under the old one) is a miss and every
 * write in flight is refused. Until then a hit is served only when it carries the stamp c holds,
 * which needs no version. A lost entry is a miss, a lost lease a less coalesced fill.
 */
import { createHash } from 'node:crypto';
import type { Result } from 'ioredis';
import { randomHex } from '../random.js';
import { isCluster, type RedisClient } from '../redis/client.js';
import { awaitReplicas } from '../redis/replication.js';
import { INVALIDATION_MEMORY_MS, type Lookup, type ResponseStore, type StoreOutcome } from './store.js';

/** Hex digits of an entry's key hash in its key name (see `hashOf`). */
export const HASH_DIGITS = 32;
/**
 * Per bucket, the tags whose versions are kept by default (RESPONSE_MAX_TAG_VERSIONS; bucket b of n
 * keeps up to this × (1 − b/2n), so buckets that see the same invalidations do not fill up
 * together). A write or invalidation that would pass it starts a new epoch instead (every entry of
 * the bucket a miss): the price of never scanning the hash to trim it. It must stay well above the distinct tags a bucket's entries carry
 * (about the number of entities cached, since list pages carry their items' tags), or the bucket
 * fills up again soon after each new epoch. A field takes about 80 bytes (MEMORY USAGE of 100,000
 * `Kit:<n>` versions: 8.2 MB), so a hash grows to that size only in a catalogue that large.
 */
export const MAX_VERSIONS = 200_000;
/** The most tags one script is handed (Lua's unpack stops near 8,000 values). */
const MAX_TAGS = 2_000;
/**
 * A write that has to extend the clock's expiry extends it this far past its own entry's (at most
 * an eighth of the entry's TTL), so the writes of the next minute need not.
 */
export const CLOCK_SLACK_MS = 60_000;

const EPOCH_DIGITS = 12;
/** Counters are floored to the Redis server's clock in µs (see INVALIDATE_BUCKET): 16 digits. */
const COUNTER_DIGITS = 16;
/** "<epoch>.<stamp>": what a hit compares, the first part of the clock and of an entry's header. */
const STAMP_BYTES = EPOCH_DIGITS + 1 + COUNTER_DIGITS;
/** "<epoch>.<stamp>.<counter>": the clock's exact length, and the entry header's up to its first newline. */
const CLOCK_BYTES = STAMP_BYTES + 1 + COUNTER_DIGITS;
const NEWLINE = 0x0a;

/**
 * Shared by the scripts. `clock` reads c and checks it against v: nil when either is missing or they
 * disagree. `fence` starts a new epoch in both (the caller's random candidate: scripts stay
 * deterministic), for `memory` ms unless a write extends it. A version is the counter's digits, and
 * a "w" after them once an entry carrying the tag was written (see INVALIDATE_BUCKET).
 */
const COMMON = `
local function counterText(n) return string.format('%0${COUNTER_DIGITS}.0f', n) end
local function versionOf(v) return tonumber(string.match(v, '^%d+')) end
local function clock(C, V)
  local c = redis.call('GET', C)
  if not c or #c ~= ${CLOCK_BYTES} then return nil end
  local epoch = string.sub(c, 1, ${EPOCH_DIGITS})
  if redis.call('HGET', V, '@') ~= epoch then return nil end
  return c, epoch, string.sub(c, ${EPOCH_DIGITS + 2}, ${STAMP_BYTES}), tonumber(string.sub(c, ${STAMP_BYTES + 2}))
end
local function fence(C, V, epoch, memory)
  local c = epoch .. '.' .. counterText(0) .. '.' .. counterText(0)
  redis.call('UNLINK', V) -- freed in the background, however large
  redis.call('HSET', V, '@', epoch)
  redis.call('PEXPIRE', V, memory)
  redis.call('SET', C, c, 'PX', memory)
  return c
end
`;

/**
 * Shared by the scripts that take the fill lease: 1 when it is this owner's (taken now, or already
 * held by another request of the same server), 0 when another server holds it. A lease already
 * held is not renewed: every request of a stampede asks (they find it theirs and join the leader
 * in process), and a lease outlived by its fill only lets another server fill too, guarded.
 */
const LEASE_FUNCTION = `
local function takeLease(L, ms, owner)
  local holder = redis.call('GET', L)
  if holder then return holder == owner and 1 or 0 end
  redis.call('SET', L, owner, 'PX', ms)
  return 1
end
`;

/** KEYS: l. ARGV: owner. Deletes the fill lease if it is this owner's; answers 1 if it was. */
const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`;

/** KEYS: l. ARGV: lease ms, owner. The fill lease alone (a lookup that did not run CHECK). */
const LEASE = `${LEASE_FUNCTION}
return takeLease(KEYS[1], tonumber(ARGV[1]), ARGV[2])
`;

/**
 * KEYS: r, c, v, l. ARGV: candidate epoch, memory ms, ttl wanted (1 or 0), lease ms (0: none), owner.
 * A lookup the MGET could not settle (the bucket has no clock, a cold or a lost one, which this
 * fences, or the entry's stamp is older than the clock), or one an in-process layer makes. On a
 * miss it also takes the fill lease when asked (a round trip less for the miss that executes).
 * Answers {entry or false, c, fenced, pttl, lease: 1 taken, 0 held by another server, -1 not asked}.
 */
const CHECK = `${COMMON}${LEASE_FUNCTION}
local R, C, V, L = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function missed() return ARGV[4] == '0' and -1 or takeLease(L, tonumber(ARGV[4]), ARGV[5]) end
local c, epoch = clock(C, V)
if not c then
  -- Neither key: a bucket never used (or all expired), nothing lost. Else evidence was.
  local lost = redis.call('EXISTS', C, V) > 0
  return {false, fence(C, V, ARGV[1], tonumber(ARGV[2])), lost and 1 or 0, -2, missed()}
end
local e = redis.call('GET', R)
if not e then return {false, c, 0, -2, missed()} end
local ttl = ARGV[3] == '1' and redis.call('PTTL', R) or -2
if string.sub(e, 1, ${STAMP_BYTES}) == string.sub(c, 1, ${STAMP_BYTES}) then return {e, c, 0, ttl, -1} end
local stale = string.sub(e, 1, ${EPOCH_DIGITS + 1}) ~= epoch .. '.' or string.byte(e, ${CLOCK_BYTES + 1}) ~= ${NEWLINE}
local lineEnd = not stale and string.find(e, '\\n', ${CLOCK_BYTES + 2}, true)
local checked = lineEnd and tonumber(string.sub(e, ${STAMP_BYTES + 2}, ${CLOCK_BYTES}))
if not checked then stale = true end
if not stale then
  local tags = {}
  for tag in string.gmatch(string.sub(e, ${CLOCK_BYTES + 2}, lineEnd - 1), '[^\\t]+') do tags[#tags + 1] = tag end
  if #tags > 0 then
    local versions = redis.call('HMGET', V, unpack(tags))
    for i = 1, #tags do
      -- A missing version fails closed: every tag a servable entry carries has one (its write made it).
      if not versions[i] or versionOf(versions[i]) > checked then
        stale = true
        break
      end
    end
  end
end
if stale then
  redis.call('DEL', R)
  return {false, c, 0, -2, missed()}
end
-- None of its tags was invalidated since it was last checked, so none up to now: it carries now.
redis.call('SETRANGE', R, 0, c)
return {c .. string.sub(e, ${CLOCK_BYTES + 1}), c, 0, ttl, -1}
`;

/**
 * KEYS: r, l, c, v. ARGV: value, ttl ms, generation, candidate epoch, memory ms, max versions, then
 * each tag. Answers 1 (stored), 0 (refused), or refused and the bucket fenced: -1 (evidence lost)
 * or -2 (v full).
 */
const WRITE = `${COMMON}
local R, L, C, V = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
redis.call('DEL', L)
local c, epoch, _, counter = clock(C, V)
if not c then
  -- One of the two lost (else the bucket expired whole, and the next lookup starts it again): the
  -- bucket starts again now, or no write here could succeed until the next invalidation.
  if redis.call('EXISTS', C, V) == 0 then return 0 end
  fence(C, V, ARGV[4], tonumber(ARGV[5]))
  return -1
end
-- Another epoch than the lookup's: what happened since is unknown. A counter ahead of the clock's
-- was handed out by a history this Redis no longer has (a failover lost it): refused too.
if string.sub(ARGV[3], 1, ${EPOCH_DIGITS + 1}) ~= epoch .. '.' then return 0 end
local seen = tonumber(string.sub(ARGV[3], ${STAMP_BYTES + 2}))
if not seen or seen > counter then return 0 end
local marks, added = {}, 0
if #ARGV > 6 then
  local versions = redis.call('HMGET', V, unpack(ARGV, 7))
  for i = 1, #ARGV - 6 do
    local v = versions[i]
    if v and versionOf(v) > seen then return 0 end
    -- From now on an invalidation of this tag may concern an entry here (see INVALIDATE_BUCKET).
    if not v or string.sub(v, -1) ~= 'w' then
      marks[#marks + 1] = ARGV[6 + i]
      marks[#marks + 1] = (v or '0') .. 'w'
      if not v then added = added + 1 end
    end
  end
end
-- Writes add versions (a mark per new tag) too: v stays within its bound whatever the traffic.
if added > 0 and redis.call('HLEN', V) + added > tonumber(ARGV[6]) then
  fence(C, V, ARGV[4], math.max(tonumber(ARGV[5]), redis.call('PTTL', C)))
  return -2
end
if #marks > 0 then redis.call('HSET', V, unpack(marks)) end
-- None of its tags was invalidated since the lookup: stamped with the clock now, not the lookup's.
local ttl = tonumber(ARGV[2])
redis.call('SET', R, c .. '\\n' .. table.concat(ARGV, '\\t', 7) .. '\\n' .. ARGV[1], 'PX', ttl)
-- The clock outlives every entry stamped with it (else they would all turn into misses early).
if redis.call('PTTL', C) < ttl then
  local keep = ttl + math.min(${CLOCK_SLACK_MS}, math.ceil(ttl / 8))
  redis.call('PEXPIRE', C, keep)
  redis.call('PEXPIRE', V, keep)
end
return 1
`;

/**
 * One bucket's invalidation, called by both scripts below: `candidate` is the epoch a fence would
 * start, `limit` the bucket's bound on its versions. Answers fenced, touched: fenced 1 when evidence
 * was lost, 2 when v was full (a new epoch either way); touched 1 when an entry written here
 * carried one of the tags.
 *
 * The counter moves on every invalidation (it is what versions and write guards compare). The
 * stamp (the clock's first half, which a hit compares) moves only when a tag is marked "w": an
 * entry carrying it was written in this bucket since its last invalidation. Other buckets keep their
 * stamp, and their hits stay one MGET: an entity's tag is on few entries, in few buckets of the 16.
 */
const INVALIDATE_BUCKET = `
local function invalidate(C, V, candidate, memory, limit, tags)
  local c, epoch, stamp, counter = clock(C, V)
  if not c then
    -- Neither key: nothing is cached here, and a lookup in flight read an epoch that is gone.
    if redis.call('EXISTS', C, V) == 0 then return 0, 0 end
    fence(C, V, candidate, memory)
    return 1, 0
  end
  -- Floored to the server's clock (µs): a failover that loses this call's effect cannot hand out the
  -- same counter again later with another meaning (the promoted replica's next one is later still,
  -- unless the clocks of master and replica differ by more than a failover takes).
  local t = redis.call('TIME')
  local n = counterText(math.max(counter + 1, tonumber(t[1]) * 1000000 + tonumber(t[2])))
  local touched, added = 0, 0
  local versions = #tags > 0 and redis.call('HMGET', V, unpack(tags)) or {}
  local fields = {}
  for i = 1, #tags do
    local v = versions[i]
    if not v then added = added + 1 elseif string.sub(v, -1) == 'w' then touched = 1 end
    fields[#fields + 1] = tags[i]
    fields[#fields + 1] = n
  end
  -- Past its bound, the bucket starts a new epoch: its entries and any write in flight there are
  -- void, so these versions need not be kept.
  if added > 0 and redis.call('HLEN', V) + added > limit then
    fence(C, V, candidate, math.max(memory, redis.call('PTTL', C)))
    return 2, 0
  end
  if touched == 1 then stamp = n end
  redis.call('SET', C, epoch .. '.' .. stamp .. '.' .. n, 'KEEPTTL')
  if #fields > 0 then redis.call('HSET', V, unpack(fields)) end
  return 0, touched
end
`;

/** KEYS: c, v. ARGV: candidate epoch, memory ms, max versions, then each tag. Answers {fenced, touched}. */
const INVALIDATE = `${COMMON}${INVALIDATE_BUCKET}
local tags = {}
for i = 4, #ARGV do tags[#tags + 1] = ARGV[i] end
local fenced, touched = invalidate(KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tags)
return {fenced, touched}
`;

/**
 * On a single Redis, where one script may touch every bucket: the same invalidation in each.
 * KEYS: c and v of each bucket in turn. ARGV: memory ms, then each bucket's candidate epoch and max
 * versions, then each tag. Answers {fenced, touched} of each bucket in turn.
 */
const INVALIDATE_ALL = `${COMMON}${INVALIDATE_BUCKET}
local buckets = #KEYS / 2
local memory = tonumber(ARGV[1])
local tags = {}
for i = 2 + 2 * buckets, #ARGV do tags[#tags + 1] = ARGV[i] end
local out = {}
for b = 1, buckets do
  local fenced, touched = invalidate(KEYS[2 * b - 1], KEYS[2 * b], ARGV[2 * b], memory, tonumber(ARGV[2 * b + 1]), tags)
  out[#out + 1] = fenced
  out[#out + 1] = touched
end
return out
`;

/** KEYS: c, v. ARGV: candidate epoch, memory ms. A new epoch: every entry of the bucket a miss. */
const CLEAR = `${COMMON}
fence(KEYS[1], KEYS[2], ARGV[1], math.max(tonumber(ARGV[2]), redis.call('PTTL', KEYS[1])))
return 1
`;

// The scripts as client methods (ioredis' defineCommand; typed the way its README shows).
type CheckReply = [entry: Buffer | null, clock: Buffer, fenced: number, pttl: number, lease: number];
declare module 'ioredis' {
  interface RedisCommander<Context> {
    kvResponseCheckBuffer(numKeys: number, ...args: (string | number)[]): Result<CheckReply, Context>;
    kvResponseWrite(numKeys: number, ...args: (string | number)[]): Result<number, Context>;
    kvResponseLease(numKeys: number, ...args: (string | number)[]): Result<number, Context>;
    kvResponseRelease(numKeys: number, ...args: (string | number)[]): Result<number, Context>;
    kvResponseInvalidate(
      numKeys: number,
      ...args: (string | number)[]
    ): Result<[fenced: number, touched: number], Context>;
    /** Fenced and touched of each bucket in turn. */
    kvResponseInvalidateAll(numKeys: number, ...args: (string | number)[]): Result<number[], Context>;
    kvResponseClear(numKeys: number, ...args: (string | number)[]): Result<number, Context>;
  }
}

export type FenceReason = 'lost' | 'full';

export type RedisResponseStoreOptions = {
  redis: RedisClient;
  /** REDIS_PREFIX: in front of every key. */
  prefix: string;
  /** Buckets spread entries (and so invalidation work) over cluster slots. Fixed for a deployment. Default 16. */
  buckets?: number;
  /** Per bucket, the tag versions kept before an invalidation starts a new epoch. Default MAX_VERSIONS (200,000). */
  maxVersions?: number;
  /**
   * Told when a bucket was fenced (every entry of it became a miss): its clock or versions were lost
   * (eviction, flush), or its versions were full. For a counter; must not throw.
   */
  onFence?(bucket: number, reason: FenceReason): void;
  /**
   * Told when an invalidation concerned entries of a bucket (their hits are checked by a script
   * until restamped). For a counter; must not throw.
   */
  onTouched?(bucket: number): void;
  /**
   * On a Cluster, how long an invalidation waits for the replicas of each master it ran on (WAIT);
   * not acknowledged in time, it fails (and is applied again from its durable record). Default 500 ms.
   */
  replicationTimeoutMs?: number;
};

/** The bucket of an entry, by its key hash (a hex digest): its first 32 bits, modulo the buckets. */
export const bucketOfHash = (hash: string, buckets: number) => parseInt(hash.slice(0, 8), 16) % buckets;

const newEpoch = () => randomHex(EPOCH_DIGITS / 2);

/**
 * A tag the header could not give back whole (it is tab-separated, on one line), or one whose
 * version would be the epoch's field in v.
 */
const unfit = (tag: string) => tag.length === 0 || tag === '@' || tag.includes('\t') || tag.includes('\n');

/** Where an entry's tag line ends (the response bytes follow), or -1: not an entry of this format. */
function tagsEndOf(entry: Buffer): number {
  if (entry.length <= CLOCK_BYTES || entry[CLOCK_BYTES] !== NEWLINE) return -1;
  return entry.indexOf(NEWLINE, CLOCK_BYTES + 1);
}

/** The tags in an entry's header, given where its tag line ends. */
function tagsOf(entry: Buffer, tagsEnd: number): string[] {
  const line = entry.toString('utf8', CLOCK_BYTES + 1, tagsEnd);
  return line ? line.split('\t') : [];
}

/** True when `entry` carries the stamp `clock` holds: nothing it may carry was invalidated since. */
const current = (entry: Buffer, clock: Buffer) =>
  entry.length > CLOCK_BYTES && entry.compare(clock, 0, STAMP_BYTES, 0, STAMP_BYTES) === 0;

export function createRedisResponseStore(options: RedisResponseStoreOptions): ResponseStore {
  const { redis, prefix, onFence, onTouched } = options;
  const buckets = options.buckets ?? 16;
  const maxVersions = options.maxVersions ?? MAX_VERSIONS;
  if (!Object.hasOwn(redis, 'kvResponseCheck')) {
    redis.defineCommand('kvResponseCheck', { lua: CHECK });
    redis.defineCommand('kvResponseWrite', { lua: WRITE });
    redis.defineCommand('kvResponseLease', { lua: LEASE });
    redis.defineCommand('kvResponseRelease', { lua: RELEASE });
    redis.defineCommand('kvResponseInvalidate', { lua: INVALIDATE });
    redis.defineCommand('kvResponseInvalidateAll', { lua: INVALIDATE_ALL });
    redis.defineCommand('kvResponseClear', { lua: CLEAR });
  }

  /** An entry's name in Redis: 128 bits of its key's digest, out of reach of a collision. */
  const hashOf = (key: string) =>
    (/^[0-9a-f]{32,}$/.test(key) ? key : createHash('sha256').update(key).digest('hex')).slice(0, HASH_DIGITS);
  const base = (b: number) => `${prefix}{rc:${b}}:`;
  const placeOf = (key: string) => {
    const h = hashOf(key);
    const bucket = bucketOfHash(h, buckets);
    return { h, bucket, b: base(bucket) };
  };
  /** The scripts' fence codes: 1 evidence lost, 2 versions full (a write answers them negated). */
  const reportFence = (bucket: number, code: number) => {
    if (code === 1) onFence?.(bucket, 'lost');
    else if (code === 2) onFence?.(bucket, 'full');
  };
  /** Bucket b's bound on its versions: spread, so buckets fed the same invalidations fence at different times. */
  const limitOf = (b: number) => maxVersions - Math.floor((maxVersions * b) / (2 * buckets));

  /** Marks this server's fill leases: its requests share them (in-process coalescing sorts them out). */
  const owner = randomHex(8);
  const leaseOf = (code: number) => (code === 1 ? 'acquired' : code === 0 ? 'held' : undefined);
  const leaseIn = async (h: string, b: string, ms: number) =>
    leaseOf(await redis.kvResponseLease(1, `${b}l:${h}`, Math.max(1, Math.round(ms)), owner))!;

  async function check(key: string, forLayer: boolean, leaseMs: number | undefined): Promise<Lookup> {
    const { h, bucket, b } = placeOf(key);
    const [entry, clock, fence, pttl, leased] = await redis.kvResponseCheckBuffer(
      4,
      `${b}r:${h}`,
      `${b}c`,
      `${b}v`,
      `${b}l:${h}`,
      newEpoch(),
      INVALIDATION_MEMORY_MS,
      forLayer ? 1 : 0,
      leaseMs ? Math.max(1, Math.round(leaseMs)) : 0,
      owner,
    );
    reportFence(bucket, fence);
    const generation = clock.toString('latin1');
    const tagsEnd = entry ? tagsEndOf(entry) : -1;
    if (!entry || tagsEnd < 0) {
      const taken = leaseOf(leased);
      return taken ? { value: null, generation, lease: taken } : { value: null, generation };
    }
    const value = entry.subarray(tagsEnd + 1);
    return forLayer
      ? { value, generation, tags: tagsOf(entry, tagsEnd), ttlMs: pttl >= 0 ? pttl : null }
      : { value, generation };
  }

  async function invalidateBucket(b: number, tags: readonly string[]) {
    for (let i = 0; i < tags.length; i += MAX_TAGS) {
      const batch = tags.slice(i, i + MAX_TAGS);
      const k = base(b);
      const [code, touched] = await redis.kvResponseInvalidate(
        2,
        `${k}c`,
        `${k}v`,
        newEpoch(),
        INVALIDATION_MEMORY_MS,
        limitOf(b),
        ...batch,
      );
      reportFence(b, code);
      if (touched) onTouched?.(b);
    }
  }

  /**
   * On a single Redis: every bucket in one script per batch of tags, so a write's invalidation is
   * one command, not one per bucket. A batch holds at most MAX_TAGS tag-bucket pairs, as a bucket's
   * own script does: no call blocks Redis for longer than one of those.
   */
  async function invalidateEveryBucket(tags: readonly string[]) {
    const perCall = Math.max(1, Math.floor(MAX_TAGS / buckets));
    const keys = Array.from({ length: buckets }, (_, b) => [`${base(b)}c`, `${base(b)}v`]).flat();
    const batches: string[][] = [];
    for (let i = 0; i < tags.length; i += perCall) batches.push(tags.slice(i, i + perCall));
    // Each batch is a whole invalidation of its tags: sent together, they go out in one round trip.
    await Promise.all(
      batches.map(async (batch) => {
        const perBucket = Array.from({ length: buckets }, (_, b) => [newEpoch(), limitOf(b)]).flat();
        const replies = await redis.kvResponseInvalidateAll(
          keys.length,
          ...keys,
          INVALIDATION_MEMORY_MS,
          ...perBucket,
          ...batch,
        );
        for (let b = 0; b < buckets; b++) {
          reportFence(b, replies[2 * b]!);
          if (replies[2 * b + 1]) onTouched?.(b);
        }
      }),
    );
  }

  /** Not done until a failover cannot undo it: on a Cluster, each master's replicas have it. */
  const replicated = () =>
    awaitReplicas(
      redis,
      Array.from({ length: buckets }, (_, b) => `${base(b)}c`),
      options.replicationTimeoutMs ?? 500,
    );

  return {
    async lookup(key, forLayer, leaseMs): Promise<Lookup> {
      // A layer needs the entry's TTL read with it: that takes the script (which also leases).
      if (forLayer) return check(key, true, leaseMs);
      const { h, b } = placeOf(key);
      const [entry, clock] = await redis.mgetBuffer(`${b}r:${h}`, `${b}c`);
      if (!clock || clock.length !== CLOCK_BYTES) return check(key, false, leaseMs);
      const generation = clock.toString('latin1');
      if (entry && !current(entry, clock)) return check(key, false, leaseMs);
      const tagsEnd = entry ? tagsEndOf(entry) : -1;
      if (entry && tagsEnd >= 0) return { value: entry.subarray(tagsEnd + 1), generation };
      if (!leaseMs) return { value: null, generation };
      try {
        return { value: null, generation, lease: await leaseIn(h, b, leaseMs) };
      } catch {
        // The lookup itself worked: keep its generation (the miss may still write). Without a lease
        // the caller asks `lease`, whose failure is then reported where leases fail.
        return { value: null, generation };
      }
    },
    async lease(key, ms) {
      const { h, b } = placeOf(key);
      return leaseIn(h, b, ms);
    },
    async release(key) {
      const { h, b } = placeOf(key);
      await redis.kvResponseRelease(1, `${b}l:${h}`, owner);
    },
    async store(key, value, tags, ttlMs, generation): Promise<StoreOutcome> {
      const all = [...new Set(tags)];
      const { h, bucket, b } = placeOf(key);
      // Such an entry could not be invalidated by every tag it carries: it is not stored (and its
      // fill lease goes, as a write's would, so no other server waits for it).
      if (all.some(unfit) || all.length > MAX_TAGS) {
        await redis.del(`${b}l:${h}`);
        return 'unfit';
      }
      // The fill lease (if any) goes with the write, stored or refused.
      const ok = await redis.kvResponseWrite(
        4,
        `${b}r:${h}`,
        `${b}l:${h}`,
        `${b}c`,
        `${b}v`,
        value,
        Math.max(1, Math.round(ttlMs)),
        generation,
        newEpoch(),
        INVALIDATION_MEMORY_MS,
        limitOf(bucket),
        ...all,
      );
      if (ok < 0) {
        reportFence(bucket, -ok);
        return 'fenced';
      }
      return ok === 1 ? 'stored' : 'stale';
    },
    async invalidate(tags) {
      // An unfit tag is on no entry here (`store` refuses them), and "@" would overwrite the epoch.
      const unique = [...new Set(tags)].filter((tag) => !unfit(tag));
      if (!unique.length) return;
      if (!isCluster(redis)) return invalidateEveryBucket(unique);
      await Promise.all(Array.from({ length: buckets }, (_, b) => invalidateBucket(b, unique)));
      await replicated();
    },
    /** A new epoch in every bucket: every entry is a miss at once; their memory goes as they expire or are evicted. */
    async clear() {
      await Promise.all(
        Array.from({ length: buckets }, (_, b) =>
          redis.kvResponseClear(2, `${base(b)}c`, `${base(b)}v`, newEpoch(), INVALIDATION_MEMORY_MS),
        ),
      );
      await replicated();
    },
    /** Entries are not indexed: counting them would take a scan. */
    async stats() {
      return { entries: null, bytes: null };
    },
  };
}
