/**
 * The response store on Redis, built for Redis Cluster from the start.
 *
 * Key layout (P = REDIS_PREFIX, b = bucket of the entry, h = its key hash, 128 bits in hex):
 *   P{rc:b}:e:h      "<epoch>.<stamp>\n" + the serialised response          (PXAT entry expiry)
 *   P{rc:b}:x:h      the entry's tags, newline-separated                    (PXAT entry expiry)
 *   P{rc:b}:t:TAG    sorted set: h scored by its expiry time                 (PXAT its manifest due time)
 *   P{rc:b}:s        "<sequence>.<epoch>[.<floor>]": the bucket's invalidation sequence, epoch, and
 *                    the floor below which an entry's stamp must be checked before it is served
 *   P{rc:b}:m        the bucket's manifest, bound to the epoch (a sorted set, expiring with s),
 *                    each member scored by the time (µs) until which it matters:
 *                      @<epoch>  +inf                the epoch it belongs to
 *                      t:TAG     until when P{rc:b}:t:TAG must exist (its members' latest expiry)
 *                      i:TAG     sequence + memory   TAG's last invalidation, remembered that long
 *                      j / G     until when P{rc:b}:j and P{rc:b}:G must exist (lazy invalidations)
 *   P{rc:b}:j        hash TAG -> sequence of TAG's last lazy invalidation
 *   P{rc:b}:G        list of graveyards still to sweep: "<id>:<sequence>:<expiry ms>"
 *   P{rc:b}:g:<id>   a graveyard: a tag index renamed away by a lazy invalidation
 *   P{rc:b}:l:h      which server is filling entry h after a miss             (PX = lease time)
 * Everything about one entry lives in one bucket, and every key of a bucket shares the hash tag
 * {rc:b}, so each script touches a single slot, and every script is handed every key it touches
 * (the Cluster contract: no key name is built inside Lua). No KEYS, no SCAN, every key has a TTL.
 *
 * Bounded invalidation. Invalidating a tag is one script per bucket, which in a bucket where some
 * tag's index is small enough to drop at once (1 to `eagerLimit` members) first answers the indexes'
 * members, having changed nothing; a second call, given those members' keys (at most `eagerLimit`
 * for all the tags together), either drops them (eager: the index still holds exactly the members read) or, for
 * a bigger index (or one that changed in between, or past that budget), marks the tag in `j`,
 * raises the bucket's floor to the invalidation's sequence and renames the index to a graveyard
 * (lazy: O(1)). Every entry carries the sequence it was written
 * (or last checked) at, its stamp; a hit whose stamp is below the floor is checked by a script
 * against `j` before it is served (and restamped when still good). Graveyards are swept in the
 * background, a bounded chunk per call; the last sweep of a bucket lowers its floor again. So no
 * call's work grows with the number of entries, and once `invalidate` resolves nothing it dropped
 * is served, swept or not.
 *
 * Losing any key (Redis evicts with allkeys-lru) costs misses, never a stale answer. A hit reads
 * the entry and `s` in one MGET and is served only when the entry was written under the epoch `s`
 * holds now. The scripts that need the keys a hit never reads (indexes, marks) first check them
 * against the manifest: a missing manifest, a manifest of another epoch, or a missing index (or
 * `G`) the manifest says must exist is evidence lost, and the script fences the bucket: a new epoch
 * in `s` (every entry of the bucket becomes a miss at once) and a fresh manifest. A lost `s` is a
 * new epoch by itself; a lost `j` fails the check of every entry below the floor; a lost graveyard
 * still listed fences. A lost entry is a miss, a lost tag list (x) or lease only less tidy or less
 * coalesced (or, below the floor, a miss).
 *
 * Stale write-back: `lookup` hands out the `s` it read as the generation. `store` refuses the write
 * when the epoch changed since, or when any of its tags was invalidated at a later sequence.
 * Sequences are floored to the Redis server's clock in microseconds, so they never run backwards.
 */
import { createHash } from 'node:crypto';
import { randomHex, randomUInt } from '../random.js';
import type { RedisClient } from '../redis/client.js';
import { awaitReplicas } from '../redis/replication.js';
import { INVALIDATION_MEMORY_MS, type Lookup, type ResponseStore, type StoreOutcome } from './store.js';

/**
 * The longest a write may live when its lookup found no sequence key in its bucket: stored into a
 * bucket without s nor m, it cannot be told from one whose s and m were both lost after an
 * invalidation that followed the lookup (a flush, or two evictions within one query).
 */
export const FIRST_WRITE_TTL_MS = 5_000;

/** Carried by every entry, so that invalidating it empties the store (admin purge) without SCAN. */
export const ALL_TAG = '*';

/** Per tag and bucket: an index up to this size is dropped at once, a bigger one lazily. */
export const EAGER_LIMIT = 128;
/**
 * Members one sweep call drops (its work, and so how long it holds Redis, is bounded by this). A
 * member costs the call about 14 µs at 100k entries, more in a bigger Redis (cache misses): 128 held
 * Redis for up to 4 ms at 100k and 11 ms at 1M; 32 stays near a millisecond. A sweep is background
 * hygiene, so it takes more calls rather than longer ones.
 */
export const SWEEP_CHUNK = 32;
/** The most keys a script hands one call (Lua's unpack stops near 8,000 values). */
export const MAX_BATCH = 2_000;
/**
 * A write that has to extend a tag index's expiry extends it this far past its own entry's (at most
 * an eighth of the entry's TTL), so the writes of the next minute of that tag need not.
 */
export const INDEX_SLACK_MS = 60_000;

/** Hex digits of an entry's key hash in its key names and index members (see `hashOf`). */
export const HASH_DIGITS = 32;

/** An epoch is 15 digits, a stamp 17: the entry's header has a fixed width (see `servable`). */
const EPOCH_DIGITS = 15;
const STAMP_DIGITS = 17;
const HEADER_BYTES = EPOCH_DIGITS + 1 + STAMP_DIGITS + 1;

/**
 * Shared by every script. `readS` parses s; `writeS` writes it (KEEPTTL without an expiry);
 * `fence` starts a new epoch (the caller's random candidate: scripts stay deterministic) with a
 * fresh manifest and no floor; `prune` drops at most k manifest members whose time is past (a
 * bounded batch per call, never a scan); `extend` keeps s and m expiring together, no earlier than
 * anything the manifest vouches for.
 */
const COMMON = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local nowUs = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function seqText(n) return string.format('%.0f', n) end
local function stampText(n) return string.format('%0${STAMP_DIGITS}.0f', n) end
local function readS(S)
  local s = redis.call('GET', S)
  if not s then return nil end
  local seq, epoch, floor = string.match(s, '^(%d+)%.(%d+)%.?(%d*)$')
  if floor == '' then floor = nil end
  return s, seq, epoch, floor
end
local function writeS(S, seq, epoch, floor, untilMs)
  local v = seqText(seq) .. '.' .. epoch
  if floor then v = v .. '.' .. stampText(floor) end
  if untilMs then
    redis.call('SET', S, v, 'PXAT', seqText(untilMs))
  else
    redis.call('SET', S, v, 'KEEPTTL')
  end
end
local function fence(S, M, epoch, seq, untilMs)
  writeS(S, seq, epoch, nil, untilMs)
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
local s, seq, epoch = readS(S)
local gseq, gepoch = string.match(ARGV[3], '^(%d+)%.(%d+)')
if not s then
  -- s and m expire together: m without s means s was lost. So was s if the lookup saw one.
  if ARGV[3] ~= '0' or redis.call('EXISTS', M) == 1 then
    fence(S, M, ARGV[6], nowUs, nowMs + memory)
    return -1
  end
  -- A bucket nobody has touched (or whose entries all expired): its first epoch. Or one whose s
  -- and m were both lost since this write's lookup, after an invalidation: nothing here can tell.
  -- So such a write lives briefly (FIRST_WRITE_TTL_MS); the next lookups see s and write normally.
  epoch, gepoch, gseq, seq = ARGV[6], ARGV[6], '0', seqText(nowUs)
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
-- One call for the marks and the indexes' due times together, one for the indexes' existence
-- (never one per tag).
local fields = {}
for i = 1, n do
  fields[i] = 'i:' .. ARGV[7 + i]
  fields[n + i] = 't:' .. ARGV[7 + i]
end
local scores = n > 0 and redis.call('ZMSCORE', M, unpack(fields)) or {}
for i = 1, n do
  if scores[i] and tonumber(scores[i]) - memory * 1000 > tonumber(gseq) then return 0 end
end
-- Every index the manifest says must exist now does (else it was lost: fence).
local owed = {}
for i = 1, n do
  local due = scores[n + i]
  if due and tonumber(due) > nowUs then owed[#owed + 1] = KEYS[5 + i] end
end
if #owed > 0 and redis.call('EXISTS', unpack(owed)) < #owed then
  fence(S, M, ARGV[6], math.max(tonumber(seq) + 1, nowUs), nowMs + memory)
  return -1
end
-- Stamped with the bucket's sequence now: every invalidation of its tags so far is older.
local untilText = seqText(untilMs)
redis.call('SET', E, epoch .. '.' .. stampText(tonumber(seq)) .. '\\n' .. ARGV[1], 'PXAT', untilText)
redis.call('SET', X, ARGV[5], 'PXAT', untilText)
-- An index's expiry and its due time in the manifest move together, and only forward: when the
-- manifest already vouches for it past this entry's expiry, the index needs nothing but the entry.
-- Else both move to a little past it (INDEX_SLACK), so the next writes of the tag need nothing either.
local keep = untilMs + math.min(${INDEX_SLACK_MS}, math.ceil(tonumber(ARGV[2]) / 8))
local keepText, keepUs = seqText(keep), seqText(keep * 1000)
local untilUs = untilMs * 1000
local bucketUntil = untilMs
local dueArgs = {}
-- One write in 16 (by the entry's hash) tidies its indexes: expired members go a bounded batch at
-- a time (never a sweep of a big index in one call), 64 each, four times what the writes add.
-- (A tidy may empty an index, which Redis then deletes: its expiry is set again below.)
local tidy = string.sub(ARGV[4], -1) == '0'
for i = 1, n do
  local idx = KEYS[5 + i]
  if tidy then
    local dead = redis.call('ZRANGEBYSCORE', idx, '-inf', seqText(nowMs), 'LIMIT', 0, 64)
    if #dead > 0 then redis.call('ZREM', idx, unpack(dead)) end
  end
  redis.call('ZADD', idx, untilText, ARGV[4])
  local due = tonumber(scores[n + i] or '0')
  if tidy or due < untilUs then
    -- GT never shortens it; an index without an expiry (new, or emptied by the tidy) gets one.
    if redis.call('PEXPIREAT', idx, keepText, 'GT') == 0 and redis.call('PEXPIRETIME', idx) == -1 then
      redis.call('PEXPIREAT', idx, keepText)
    end
    dueArgs[#dueArgs + 1] = keepUs
    dueArgs[#dueArgs + 1] = fields[n + i]
    bucketUntil = math.max(bucketUntil, keep)
  end
  bucketUntil = math.max(bucketUntil, math.ceil(due / 1000))
end
if #dueArgs > 0 then redis.call('ZADD', M, 'GT', unpack(dueArgs)) end
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
 * KEYS: e, s, x. A hit's read for an in-process layer: the entry, its bucket's sequence, its tags
 * and how much longer Redis keeps it (PTTL), in one atomic step.
 */
const READ_FOR_LAYER = `
return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('GET', KEYS[3]), redis.call('PTTL', KEYS[1])}
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
 * KEYS: s, m, j, G, t:* (the index every entry is in), then t:TAG and its graveyard g:<id> for each
 * tag, then e:h and x:h for each member the caller read from those indexes.
 * ARGV: memory ms, candidate epoch, number of tags, eager limit, probe (1 or 0), then each TAG,
 * each graveyard id, each member h.
 * Answers {dropped, fenced (1 when evidence was lost), lazy (tags left to the sweep)}; or, to a
 * probe that found members to declare, {-1, 0, 0, {each tag's first members}} having changed nothing.
 *
 * The probe is the first call, with no members: a bucket where no tag's index holds 1 to `limit`
 * members (the usual case for an entity's tag: its few entries live in a few buckets of many; a
 * bigger index goes lazy, which needs no member) is invalidated by it, in one call. Elsewhere it
 * answers what the indexes hold (up to the limit and one more, which tells a big one), and the
 * caller asks again with those members declared: an entry's keys are named from its index member,
 * and a script may only touch the keys it was handed.
 */
const INVALIDATE = `${COMMON}
local S, M, J, G, ALL = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local memory = tonumber(ARGV[1])
local n = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
if ARGV[5] == '1' then
  -- Before anything is written: a probe that needs members changes nothing.
  local first, wanted = {}, false
  for i = 1, n do
    first[i] = redis.call('ZRANGE', KEYS[4 + 2 * i], 0, limit)
    if #first[i] > 0 and #first[i] <= limit then wanted = true end
  end
  if wanted then return {-1, 0, 0, first} end
end
local firstMember = 6 + 2 * n
local declared = {}
for k = 1, (#KEYS - firstMember + 1) / 2 do declared[ARGV[5 + 2 * n + k]] = firstMember + 2 * (k - 1) end
local s, seq, epoch, floor = readS(S)
-- Without s nor m the bucket holds nothing servable: a new epoch, but nothing was lost.
local fresh = not s and redis.call('EXISTS', M) == 0
local lost = not epoch or not redis.call('ZSCORE', M, '@' .. epoch)
if not lost then
  for i = 1, n do
    if redis.call('EXISTS', KEYS[4 + 2 * i]) == 0 then
      local due = redis.call('ZSCORE', M, 't:' .. ARGV[5 + i])
      if due and tonumber(due) > nowUs then
        lost = true
        break
      end
    end
  end
end
-- Graveyards not yet swept that nobody can name any more: their entries could outlive the floor.
if not lost and redis.call('EXISTS', G) == 0 and tonumber(redis.call('ZSCORE', M, 'G') or '0') > nowUs then
  lost = true
end
local nextSeq = math.max(tonumber(seq or '0') + 1, nowUs)
local keep = nowMs + memory
if lost then
  -- No evidence, or not all of it: no entry of this bucket is served again. (A bucket without s
  -- is the same case: lookups already miss there.)
  epoch, floor = ARGV[2], nil
  fence(S, M, epoch, nextSeq, keep)
end
local dropped, lazy = 0, 0
local function bury(idx, grave, id)
  -- An index always expires (with its last entry); a missing expiry would make the floor forever.
  local due = redis.call('PEXPIRETIME', idx)
  if due < nowMs then due = nowMs + memory end
  redis.call('RENAME', idx, grave)
  redis.call('RPUSH', G, id .. ':' .. seqText(nextSeq) .. ':' .. seqText(due))
  if redis.call('PEXPIRETIME', G) < due then redis.call('PEXPIREAT', G, seqText(due)) end
  redis.call('ZADD', M, 'GT', seqText(due * 1000), 'G')
  lazy = lazy + 1
  return due
end
for i = 1, n do
  local tag, idx, grave = ARGV[5 + i], KEYS[4 + 2 * i], KEYS[5 + 2 * i]
  local first = redis.call('ZRANGE', idx, 0, limit)
  local eager = #first <= limit
  if eager then
    for _, h in ipairs(first) do
      if not declared[h] then
        eager = false
        break
      end
    end
  end
  if eager then
    -- One call per kind of key, not one per member: a script's cost is mostly its calls.
    if #first > 0 then
      local entries, lists = {}, {}
      for k, h in ipairs(first) do
        entries[k] = KEYS[declared[h]]
        lists[k] = KEYS[declared[h] + 1]
      end
      dropped = dropped + redis.call('DEL', unpack(entries))
      redis.call('DEL', unpack(lists))
      redis.call('ZREM', ALL, unpack(first))
    end
    redis.call('DEL', idx)
    -- An index emptied here is gone for good: it need not exist any more.
    if redis.call('EXISTS', ALL) == 0 then redis.call('ZREM', M, 't:${ALL_TAG}') end
  elseif idx == ALL then
    -- Everything goes (admin purge): a new epoch is exact and O(1); the sweep frees the memory.
    epoch, floor = ARGV[2], nil
    fence(S, M, epoch, nextSeq, keep)
    bury(idx, grave, ARGV[5 + n + i])
  else
    -- Too many to drop now: entries stamped before nextSeq are checked against j until swept.
    local due = bury(idx, grave, ARGV[5 + n + i])
    redis.call('HSET', J, tag, seqText(nextSeq))
    if redis.call('PEXPIRETIME', J) < due then redis.call('PEXPIREAT', J, seqText(due)) end
    redis.call('ZADD', M, 'GT', seqText(due * 1000), 'j')
    floor = nextSeq
    keep = math.max(keep, due)
  end
  redis.call('ZREM', M, 't:' .. tag)
  redis.call('ZADD', M, 'GT', seqText(nextSeq + memory * 1000), 'i:' .. tag)
end
prune(M, n + 16)
writeS(S, nextSeq, epoch, floor, nil)
extend(S, M, keep)
local fenced = 0
if lost and not fresh then fenced = 1 end
return {dropped, fenced, lazy}
`;

/**
 * KEYS: e, x, s, m, j. The check of an entry stamped below its bucket's floor: served (and
 * restamped, so the next hit needs no check) unless a lazy invalidation of one of its tags is later
 * than its stamp, or the evidence to tell is gone. Answers the stored entry, or nil.
 */
const VERIFY = `${COMMON}
local E, X, S, M, J = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local v = redis.call('GET', E)
if not v then return false end
local s, seq, epoch, floor = readS(S)
if not epoch or string.sub(v, 1, #epoch + 1) ~= epoch .. '.' then return false end
local stamp = tonumber(string.sub(v, #epoch + 2, #epoch + 1 + ${STAMP_DIGITS}))
if not stamp then return false end
if not floor or stamp >= tonumber(floor) then return v end
if not redis.call('ZSCORE', M, '@' .. epoch) then return false end
local due = redis.call('ZSCORE', M, 'j')
if due and tonumber(due) > nowUs then
  local tags = redis.call('GET', X)
  local stale = not tags or redis.call('EXISTS', J) == 0
  if not stale then
    for tag in string.gmatch(tags, '[^\\n]+') do
      local at = redis.call('HGET', J, tag)
      if at and tonumber(at) > stamp then
        stale = true
        break
      end
    end
  end
  if stale then
    redis.call('DEL', E, X)
    return false
  end
end
redis.call('SETRANGE', E, #epoch + 1, stampText(tonumber(seq)))
return v
`;

/**
 * KEYS: s, m, G, the graveyard, t:*, then e:h and x:h for each member the caller read from it.
 * ARGV: the graveyard's item in G, candidate epoch, memory ms, then each member h.
 * Drops the members written before the graveyard's invalidation (later ones are fills since, or
 * were checked and restamped), and when the graveyard is empty unlists it; the last one of the
 * bucket lowers the floor. A graveyard listed but gone before its entries' expiry was lost: fence.
 * Answers {dropped, fenced}.
 */
const SWEEP = `${COMMON}
local S, M, G, GRAVE, ALL = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local item = ARGV[1]
local gseq, due = string.match(item, '^[^:]+:(%d+):(-?%d+)$')
gseq, due = tonumber(gseq), tonumber(due)
local existed = redis.call('EXISTS', GRAVE) == 1
local dropped = 0
local members, entries, lists, doomed = {}, {}, {}, {}
for k = 1, (#KEYS - 5) / 2 do
  local E, X, h = KEYS[4 + 2 * k], KEYS[5 + 2 * k], ARGV[3 + k]
  members[k] = h
  local head = redis.call('GETRANGE', E, 0, ${HEADER_BYTES})
  if head ~= '' then
    local dot = string.find(head, '.', 1, true)
    local stamp = dot and tonumber(string.sub(head, dot + 1, dot + ${STAMP_DIGITS}))
    if not stamp or stamp < gseq then
      entries[#entries + 1], lists[#lists + 1], doomed[#doomed + 1] = E, X, h
    end
  end
end
-- One call per kind of key, not one per member.
if #doomed > 0 then
  dropped = redis.call('DEL', unpack(entries))
  redis.call('DEL', unpack(lists))
  redis.call('ZREM', ALL, unpack(doomed))
end
if #members > 0 then redis.call('ZREM', GRAVE, unpack(members)) end
if redis.call('EXISTS', ALL) == 0 then redis.call('ZREM', M, 't:${ALL_TAG}') end
if redis.call('EXISTS', GRAVE) == 0 and redis.call('LREM', G, 0, item) > 0 then
  if not existed and due and due > nowMs then
    local _, seq = readS(S)
    fence(S, M, ARGV[2], math.max(tonumber(seq or '0') + 1, nowUs), nowMs + tonumber(ARGV[3]))
    return {dropped, 1}
  end
  if redis.call('LLEN', G) == 0 then
    redis.call('ZREM', M, 'G')
    local s, seq, epoch, floor = readS(S)
    if floor then writeS(S, tonumber(seq), epoch, nil, nil) end
  end
end
return {dropped, 0}
`;

type Args = (string | number)[];
/** The invalidation script's answer: what it did, or (a probe's `PROBED`) each tag's first members. */
type InvalidateReply = [dropped: number, fenced: number, lazy: number, members?: string[][]];
const PROBED = -1;
type ScriptedRedis = RedisClient & {
  kvResponseWrite(numKeys: number, ...args: Args): Promise<number>;
  kvResponseLease(numKeys: number, ...args: Args): Promise<number>;
  kvResponseInvalidate(numKeys: number, ...args: Args): Promise<InvalidateReply>;
  kvResponseVerifyBuffer(numKeys: number, ...args: Args): Promise<Buffer | null>;
  kvResponseSweep(numKeys: number, ...args: Args): Promise<[number, number]>;
  kvResponseReadForLayerBuffer(
    numKeys: number,
    ...args: Args
  ): Promise<[Buffer | false | null, Buffer | false | null, Buffer | false | null, number]>;
};

export type RedisResponseStoreOptions = {
  redis: RedisClient;
  /** REDIS_PREFIX: in front of every key. */
  prefix: string;
  /** Buckets spread entries (and so invalidation work) over cluster slots. Fixed for a deployment. Default 16. */
  buckets?: number;
  /**
   * A tag index up to this size (per bucket) is dropped at once; a bigger one lazily. Default
   * EAGER_LIMIT (128); at most MAX_BATCH (a script hands them to one call).
   */
  eagerLimit?: number;
  /** Members per sweep call. Default SWEEP_CHUNK (32); 1 to MAX_BATCH. */
  sweepChunk?: number;
  /**
   * How often every bucket is checked for graveyards another server left unswept (it stopped, or
   * Redis failed mid-sweep). Default 5,000 ms; 0: only after this server's own invalidations.
   */
  sweepIntervalMs?: number;
  /**
   * Told when a script found a bucket's evidence lost (an evicted index, manifest or sequence) and
   * fenced it: every entry of that bucket became a miss. For a counter; must not throw.
   */
  onFence?(bucket: number, by: 'write' | 'invalidate' | 'sweep'): void;
  /**
   * On a Cluster, how long an invalidation waits for the replicas of each master it ran on (WAIT);
   * not acknowledged in time, it fails (and is applied again from its durable record). Default 500 ms.
   */
  replicationTimeoutMs?: number;
  /** Told when a background sweep failed (it is retried by the periodic check). Must not throw. */
  onSweepError?(error: unknown): void;
};

export type RedisResponseStore = ResponseStore & {
  /** Sweeps every bucket's graveyards now; resolves with the entries dropped. */
  sweep(): Promise<number>;
  /** Resolves once the sweeps in flight are done. */
  settled(): Promise<void>;
  /** Stops the periodic check. */
  close(): void;
};

/** The bucket of an entry, by its key hash (a hex digest): its first 32 bits, modulo the buckets. */
export const bucketOfHash = (hash: string, buckets: number) => parseInt(hash.slice(0, 8), 16) % buckets;

/** A fresh epoch candidate: digits only, so that `s` still reads as a number to older scripts. */
const newEpoch = () => String(randomUInt(6)).padStart(EPOCH_DIGITS, '0');
const newId = () => randomHex(6);

/** Where `s` ("<sequence>.<epoch>[.<floor>]") keeps its epoch and floor. */
function partsOf(seq: Buffer): { epochStart: number; epochEnd: number; floorStart: number } | null {
  const dot = seq.indexOf(0x2e);
  if (dot < 0) return null;
  const second = seq.indexOf(0x2e, dot + 1);
  return second < 0
    ? { epochStart: dot + 1, epochEnd: seq.length, floorStart: -1 }
    : { epochStart: dot + 1, epochEnd: second, floorStart: second + 1 };
}

/**
 * What a hit may do with `stored` given `seq`: 'serve' (written under the epoch `seq` names, and
 * stamped at or above its floor), 'check' (same epoch, stamped below the floor: a script decides),
 * or 'miss' (another epoch, `seq` gone, or not an entry of this format).
 */
function verdict(stored: Buffer | null, seq: Buffer | null): 'serve' | 'check' | 'miss' {
  if (!stored || !seq || stored.length < HEADER_BYTES) return 'miss';
  const parts = partsOf(seq);
  if (!parts || parts.epochEnd - parts.epochStart !== EPOCH_DIGITS) return 'miss';
  if (stored[EPOCH_DIGITS] !== 0x2e || stored[HEADER_BYTES - 1] !== 0x0a) return 'miss';
  if (stored.compare(seq, parts.epochStart, parts.epochEnd, 0, EPOCH_DIGITS) !== 0) return 'miss';
  if (parts.floorStart < 0) return 'serve';
  // Both zero-padded to STAMP_DIGITS: byte order is number order.
  const below = stored.compare(seq, parts.floorStart, seq.length, EPOCH_DIGITS + 1, HEADER_BYTES - 1) < 0;
  return below ? 'check' : 'serve';
}

export function createRedisResponseStore(options: RedisResponseStoreOptions): RedisResponseStore {
  const { prefix, onFence, onSweepError } = options;
  const buckets = options.buckets ?? 16;
  const eagerLimit = options.eagerLimit ?? EAGER_LIMIT;
  const sweepChunk = options.sweepChunk ?? SWEEP_CHUNK;
  if (!(eagerLimit >= 0 && eagerLimit <= MAX_BATCH && sweepChunk >= 1 && sweepChunk <= MAX_BATCH))
    throw new RangeError(`eagerLimit must be 0 to ${MAX_BATCH}, sweepChunk 1 to ${MAX_BATCH}`);
  const redis = options.redis as ScriptedRedis;
  if (typeof (options.redis as unknown as Partial<ScriptedRedis>).kvResponseSweep !== 'function') {
    options.redis.defineCommand('kvResponseWrite', { lua: WRITE });
    options.redis.defineCommand('kvResponseLease', { lua: LEASE });
    options.redis.defineCommand('kvResponseInvalidate', { lua: INVALIDATE });
    options.redis.defineCommand('kvResponseVerify', { lua: VERIFY });
    options.redis.defineCommand('kvResponseSweep', { lua: SWEEP });
    options.redis.defineCommand('kvResponseReadForLayer', { lua: READ_FOR_LAYER });
  }

  /**
   * An entry's name in Redis: 128 bits of its key's digest (32 hex digits). The name is written
   * once per tag index the entry is in (dozens), so its length is most of an index's memory and of
   * the work of each index write; 128 bits still make a collision out of reach at any cache size.
   */
  const hashOf = (key: string) =>
    (/^[0-9a-f]{32,}$/.test(key) ? key : createHash('sha256').update(key).digest('hex')).slice(0, HASH_DIGITS);
  const bucketOf = (h: string) => bucketOfHash(h, buckets);
  const base = (b: number) => `${prefix}{rc:${b}}:`;

  /**
   * One sweep per bucket at a time in this process (callers that find one running share it), and
   * one bucket after another: a sweep is memory hygiene, so it never has more than one call waiting
   * in Redis ahead of the requests' own commands.
   */
  const sweeping = new Map<number, Promise<number>>();
  let lane: Promise<unknown> = Promise.resolve();
  async function sweepChunks(b: number): Promise<number> {
    const k = base(b);
    let dropped = 0;
    for (;;) {
      const [item] = await redis.lrange(`${k}G`, 0, 0);
      if (!item) return dropped;
      const grave = `${k}g:${item.slice(0, item.indexOf(':'))}`;
      const members = await redis.zrange(grave, 0, sweepChunk - 1);
      const keys = [
        `${k}s`,
        `${k}m`,
        `${k}G`,
        grave,
        `${k}t:${ALL_TAG}`,
        ...members.flatMap((h) => [`${k}e:${h}`, `${k}x:${h}`]),
      ];
      const [n, fenced] = await redis.kvResponseSweep(
        keys.length,
        ...keys,
        item,
        newEpoch(),
        INVALIDATION_MEMORY_MS,
        ...members,
      );
      dropped += n;
      if (fenced) onFence?.(b, 'sweep');
    }
  }
  function sweepBucket(b: number): Promise<number> {
    const running = sweeping.get(b);
    if (running) return running;
    const run = lane.then(() => sweepChunks(b)).finally(() => sweeping.delete(b));
    lane = run.catch(() => undefined);
    sweeping.set(b, run);
    return run;
  }
  /** In the background: errors are reported, and the periodic check tries again. */
  const sweepLater = (b: number) => void sweepBucket(b).catch((error: unknown) => onSweepError?.(error));

  async function sweepAll(): Promise<number> {
    const lengths = await Promise.all(Array.from({ length: buckets }, (_, b) => redis.llen(`${base(b)}G`)));
    const counts = await Promise.all(lengths.map((n, b) => (n > 0 ? sweepBucket(b) : 0)));
    return counts.reduce((a, c) => a + c, 0);
  }
  const intervalMs = options.sweepIntervalMs ?? 5_000;
  const timer =
    intervalMs > 0
      ? setInterval(() => void sweepAll().catch((error: unknown) => onSweepError?.(error)), intervalMs)
      : null;
  timer?.unref();

  async function invalidateBucket(b: number, tags: readonly string[]) {
    const k = base(b);
    const ids = tags.map(() => newId());
    const call = (members: readonly string[], probe: boolean) => {
      const keys = [
        `${k}s`,
        `${k}m`,
        `${k}j`,
        `${k}G`,
        `${k}t:${ALL_TAG}`,
        ...tags.flatMap((t, i) => [`${k}t:${t}`, `${k}g:${ids[i]}`]),
        ...members.flatMap((h) => [`${k}e:${h}`, `${k}x:${h}`]),
      ];
      return redis.kvResponseInvalidate(
        keys.length,
        ...keys,
        INVALIDATION_MEMORY_MS,
        newEpoch(),
        tags.length,
        eagerLimit,
        probe ? 1 : 0,
        ...tags,
        ...ids,
        ...members,
      );
    };
    // First without members: most buckets hold none of the tags' entries, and are done in this call.
    let reply = await call([], true);
    const read = reply[0] === PROBED ? reply[3] : undefined;
    if (read) {
      // The members each index held (one more than the limit tells a big one); the script drops
      // them only if that is still all the index holds, so a member added since cannot be missed.
      // It drops at most `eagerLimit` entries in all, whatever the number of tags: the smallest
      // tags first, and a tag whose members do not fit any more goes lazy (its members undeclared).
      const members = new Set<string>();
      for (const list of read.filter((m) => m.length <= eagerLimit).sort((a, b) => a.length - b.length)) {
        const added = list.filter((h) => !members.has(h));
        if (members.size + added.length > eagerLimit) continue;
        for (const h of added) members.add(h);
      }
      reply = await call([...members], false);
    }
    const [, fenced, lazy] = reply;
    if (fenced) onFence?.(b, 'invalidate');
    if (lazy > 0) sweepLater(b);
  }

  async function invalidateAll(tags: readonly string[]) {
    const unique = [...new Set(tags)];
    if (!unique.length) return;
    await Promise.all(Array.from({ length: buckets }, (_, b) => invalidateBucket(b, unique)));
    // Not done until a failover cannot undo it.
    const seqs = Array.from({ length: buckets }, (_, b) => `${base(b)}s`);
    await awaitReplicas(options.redis, seqs, options.replicationTimeoutMs ?? 500);
  }

  return {
    async lookup(key, forLayer): Promise<Lookup> {
      const h = hashOf(key);
      const b = base(bucketOf(h));
      // For a layer, the tags and the expiry come from the same one read (x is written with e, in one script).
      const bytes = (v: Buffer | false | null | undefined) => (Buffer.isBuffer(v) ? v : null);
      let stored: Buffer | null, seq: Buffer | null;
      let tagList: Buffer | null = null;
      let pttl = -2;
      if (forLayer) {
        const read = await redis.kvResponseReadForLayerBuffer(3, `${b}e:${h}`, `${b}s`, `${b}x:${h}`);
        [stored, seq, tagList, pttl] = [bytes(read[0]), bytes(read[1]), bytes(read[2]), read[3]];
      } else {
        const [e, s] = await redis.mgetBuffer(`${b}e:${h}`, `${b}s`);
        [stored, seq] = [bytes(e), bytes(s)];
      }
      // A bucket at sequence 0 (given its epoch by a fill lease, nothing invalidated since) reads as
      // one without s: the same generation, for the write guard and for coalescing alike.
      const generation = !seq || (seq[0] === 0x30 && seq[1] === 0x2e) ? '0' : seq.toString('latin1');
      const found = stored ?? null;
      switch (verdict(found, seq ?? null)) {
        case 'serve': {
          const value = found!.subarray(HEADER_BYTES);
          if (!forLayer) return { value, generation };
          // Tags are written with ALL_TAG first; a value without it is not a list this store wrote.
          const tags = tagList ? tagList.toString('utf8').split('\n') : null;
          return {
            value,
            generation,
            tags: tags?.[0] === ALL_TAG ? tags.slice(1) : null,
            ttlMs: pttl >= 0 ? pttl : null,
          };
        }
        case 'miss':
          return { value: null, generation };
        case 'check': {
          const keys = [`${b}e:${h}`, `${b}x:${h}`, `${b}s`, `${b}m`, `${b}j`];
          const checked = await redis.kvResponseVerifyBuffer(keys.length, ...keys);
          return {
            value: checked && checked.length >= HEADER_BYTES ? checked.subarray(HEADER_BYTES) : null,
            generation,
          };
        }
      }
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
      // A tag list is newline-separated (x): a tag holding a newline could not be read back whole,
      // so its invalidation could miss the entry. Such an entry is not stored.
      if (tags.some((t) => t.includes('\n'))) return 'refused';
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
    sweep: sweepAll,
    async settled() {
      while (sweeping.size) await Promise.allSettled([...sweeping.values()]);
    },
    close() {
      if (timer) clearInterval(timer);
    },
  };
}
