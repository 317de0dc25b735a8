/**
 * Entity storage on Redis. Keys (P = REDIS_PREFIX, V = format version):
 *   P{e:V:Namespace:id}     the value (msgpack), or a one-byte absence marker   (PX = TTL per namespace)
 *   P{e:V:Namespace:id}:l   the lease token while one reader fills it          (PX = lease time)
 *   P{g:V:group}            a group's version (a random token)                 (PX ≥ its values' TTL)
 *   P{g:V:group}:key        a value of the group: its version's bytes, then the value (PX = TTL)
 *   P{g:V:group}:key:l      the lease token while one reader fills it          (PX = lease time)
 * A value and its lease share a hash tag, so each script's work on one entity is single-slot. On a
 * single Redis a batch is one script call; on a Cluster the batch is split by slot (ioredis does not
 * split multi-key commands), and the calls go out together. On a Cluster an invalidation is done
 * once the replicas of every master it ran on have it (WAIT, src/cache/redis/replication.ts).
 */
import calculateSlot from 'cluster-key-slot';
import type { Redis, Result } from 'ioredis';
import { isCluster, type RedisClient } from '../redis/client.js';
import { awaitReplicas } from '../redis/replication.js';
import type { EntityStorage, Fill, ReadOutcome } from './storage.js';

// KEYS come in pairs, value then lease (KEYS[2i-1], KEYS[2i]): a script declares every key it
// touches (the Cluster contract), and each pair shares its hash tag, so a call is single-slot.
const READ_OR_LEASE = `
local out = {}
for i = 1, #KEYS / 2 do
  local v = redis.call('GET', KEYS[2 * i - 1])
  if v then
    out[i] = v
  elseif redis.call('SET', KEYS[2 * i], ARGV[1], 'NX', 'PX', ARGV[2]) then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`;

const FILL = `
local out = {}
for i = 1, #KEYS / 2 do
  local lease = KEYS[2 * i]
  if redis.call('GET', lease) == ARGV[1] then
    redis.call('SET', KEYS[2 * i - 1], ARGV[2 * i], 'PX', ARGV[2 * i + 1])
    redis.call('DEL', lease)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`;

// KEYS[1] is the group's version; then (value, lease) pairs. A value counts only if it begins with
// the current version; a group without one gets ARGV[1] (the reader's token, random) as its new one.
const READ_GROUP = `
local version = redis.call('GET', KEYS[1])
if not version then
  version = ARGV[1]
  redis.call('SET', KEYS[1], version, 'PX', ARGV[3])
end
local n = #version
local out = { version }
for i = 1, (#KEYS - 1) / 2 do
  local v = redis.call('GET', KEYS[2 * i])
  if v and string.sub(v, 1, n) == version then
    out[i + 1] = v
  elseif redis.call('SET', KEYS[2 * i + 1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    out[i + 1] = 1
  else
    out[i + 1] = 0
  end
end
return out
`;

// ARGV: token, the version read, then (value, ttl) per pair; values arrive with the version prefixed.
// A changed version refuses every fill and frees this reader's leases for the next reader.
const FILL_GROUP = `
local current = redis.call('GET', KEYS[1]) == ARGV[2]
local out = {}
for i = 1, (#KEYS - 1) / 2 do
  local lease = KEYS[2 * i + 1]
  out[i] = 0
  if redis.call('GET', lease) == ARGV[1] then
    redis.call('DEL', lease)
    if current then
      redis.call('SET', KEYS[2 * i], ARGV[2 * i + 1], 'PX', ARGV[2 * i + 2])
      redis.call('PEXPIRE', KEYS[1], ARGV[2 * i + 2], 'GT')
      out[i] = 1
    end
  end
end
return out
`;

const INVALIDATE = `
for i = 1, #KEYS do
  redis.call('DEL', KEYS[i])
end
return #KEYS / 2
`;

// The scripts as client methods (ioredis' defineCommand; typed the way its README shows).
declare module 'ioredis' {
  interface RedisCommander<Context> {
    kvEntityRead(numKeys: number, ...args: (string | number)[]): Result<(string | number)[], Context>;
    kvEntityReadBuffer(numKeys: number, ...args: (string | number)[]): Result<(Buffer | number)[], Context>;
    kvEntityFill(numKeys: number, ...args: (string | number | Buffer)[]): Result<number[], Context>;
    kvEntityInvalidate(numKeys: number, ...args: string[]): Result<number, Context>;
    kvGroupReadBuffer(numKeys: number, ...args: (string | number)[]): Result<(Buffer | number)[], Context>;
    kvGroupFill(numKeys: number, ...args: (string | number | Buffer)[]): Result<number[], Context>;
  }
}

/** A value's key and its lease's key, as the scripts take them. */
const withLease = (key: string) => [key, `${key}:l`];

/** Index groups of keys that may share one command: all of them on one Redis, by slot on a Cluster. */
function bySlot(keys: readonly string[], cluster: boolean): number[][] {
  if (!cluster) return [keys.map((_, i) => i)];
  const groups = new Map<number, number[]>();
  keys.forEach((key, i) => {
    const slot = calculateSlot(key);
    const group = groups.get(slot);
    if (group) group.push(i);
    else groups.set(slot, [i]);
  });
  return [...groups.values()];
}

export type RedisEntityStorageOptions = {
  /**
   * On a Cluster, how long an invalidation waits for the replicas of each master it ran on (WAIT);
   * not acknowledged in time, it fails (and is applied again from its durable record). Default 500 ms.
   */
  replicationTimeoutMs?: number;
};

export function createRedisEntityStorage(redis: RedisClient, options: RedisEntityStorageOptions = {}): EntityStorage {
  // Defined once per client (defineCommand adds the methods to the client object itself).
  if (!Object.hasOwn(redis, 'kvEntityRead')) {
    redis.defineCommand('kvEntityRead', { lua: READ_OR_LEASE });
    redis.defineCommand('kvEntityFill', { lua: FILL });
    redis.defineCommand('kvEntityInvalidate', { lua: INVALIDATE });
    redis.defineCommand('kvGroupRead', { lua: READ_GROUP });
    redis.defineCommand('kvGroupFill', { lua: FILL_GROUP });
  }
  const cluster = isCluster(redis);

  return {
    async readOrLease(keys, token, leaseMs) {
      const out: ReadOutcome[] = new Array(keys.length);
      await Promise.all(
        bySlot(keys, cluster).map(async (group) => {
          const pairs = group.flatMap((i) => withLease(keys[i]!));
          const replies = await redis.kvEntityReadBuffer(pairs.length, ...pairs, token, leaseMs);
          group.forEach((index, j) => {
            const reply = replies[j];
            out[index] = Buffer.isBuffer(reply)
              ? { kind: 'hit', value: reply }
              : reply === 1
                ? { kind: 'leased' }
                : { kind: 'busy' };
          });
        }),
      );
      return out;
    },
    async fill(fills: readonly Fill[], token) {
      const out: boolean[] = new Array(fills.length).fill(false);
      await Promise.all(
        bySlot(
          fills.map((f) => f.key),
          cluster,
        ).map(async (group) => {
          const args = group.flatMap((i) => [fills[i]!.value, Math.max(1, Math.round(fills[i]!.ttlMs))]);
          const pairs = group.flatMap((i) => withLease(fills[i]!.key));
          const replies = await redis.kvEntityFill(pairs.length, ...pairs, token, ...args);
          group.forEach((index, j) => (out[index] = replies[j] === 1));
        }),
      );
      return out;
    },
    async readGroup(group, keys, token, leaseMs, versionTtlMs) {
      const pairs = keys.flatMap(withLease);
      const [first, ...replies] = await redis.kvGroupReadBuffer(
        1 + pairs.length,
        group,
        ...pairs,
        token,
        leaseMs,
        Math.max(1, Math.round(versionTtlMs)),
      );
      if (!Buffer.isBuffer(first)) throw new Error('group read: no version in the reply');
      const version = first.toString();
      const outcomes = replies.map((reply): ReadOutcome =>
        Buffer.isBuffer(reply)
          ? { kind: 'hit', value: reply.subarray(first.length) }
          : reply === 1
            ? { kind: 'leased' }
            : { kind: 'busy' },
      );
      return { version, outcomes };
    },
    async fillGroup(group, version, fills, token) {
      const pairs = fills.flatMap((f) => withLease(f.key));
      const prefix = Buffer.from(version);
      const args = fills.flatMap((f) => [Buffer.concat([prefix, f.value]), Math.max(1, Math.round(f.ttlMs))]);
      const replies = await redis.kvGroupFill(1 + pairs.length, group, ...pairs, token, version, ...args);
      return replies.map((r) => r === 1);
    },
    async invalidateGroups(groups) {
      // One DEL per slot: on one Redis that is one call; a version is one key, whatever its values.
      await Promise.all(bySlot(groups, cluster).map((group) => redis.del(...group.map((i) => groups[i]!))));
      await awaitReplicas(redis, groups, options.replicationTimeoutMs ?? 500);
    },
    /**
     * Admin purge only: entity keys have no index (a read is one GET), so dropping all of them
     * walks this prefix's keys with SCAN, in pages, on every master. Never on a request path.
     */
    async clear(prefix) {
      const nodes: Redis[] = isCluster(redis) ? redis.nodes('master') : [redis];
      let dropped = 0;
      for (const node of nodes) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}{[eg]:*`, 'COUNT', 500);
          cursor = next;
          for (const key of keys) dropped += await node.unlink(key);
        } while (cursor !== '0');
      }
      return dropped;
    },
    async entries() {
      return null;
    },
    async invalidate(keys) {
      await Promise.all(
        bySlot(keys, cluster).map((group) => {
          const pairs = group.flatMap((i) => withLease(keys[i]!));
          return redis.kvEntityInvalidate(pairs.length, ...pairs);
        }),
      );
      // Not done until a failover cannot bring the dropped values back (one WAIT per master).
      await awaitReplicas(redis, keys, options.replicationTimeoutMs ?? 500);
    },
  };
}
