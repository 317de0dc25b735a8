/**
 * Entity storage on Redis. Keys (P = REDIS_PREFIX, V = format version):
 *   P{e:V:Namespace:id}     the value (msgpack), or a one-byte absence marker   (PX = TTL per namespace)
 *   P{e:V:Namespace:id}:l   the lease token while one reader fills it          (PX = lease time)
 * A value and its lease share a hash tag, so each script's work on one entity is single-slot. On a
 * single Redis a batch is one script call; on a Cluster the batch is split by slot (ioredis does not
 * split multi-key commands), and the calls go out together.
 */
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import type { EntityStorage, Fill, ReadOutcome } from './storage.js';

const READ_OR_LEASE = `
local out = {}
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then
    out[i] = v
  elseif redis.call('SET', KEYS[i] .. ':l', ARGV[1], 'NX', 'PX', ARGV[2]) then
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`;

const FILL = `
local out = {}
for i = 1, #KEYS do
  local lease = KEYS[i] .. ':l'
  if redis.call('GET', lease) == ARGV[1] then
    redis.call('SET', KEYS[i], ARGV[2 * i], 'PX', ARGV[2 * i + 1])
    redis.call('DEL', lease)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`;

const INVALIDATE = `
for i = 1, #KEYS do
  redis.call('DEL', KEYS[i], KEYS[i] .. ':l')
end
return #KEYS
`;

type Scripted = {
  kvEntityReadBuffer(numKeys: number, ...args: (string | number)[]): Promise<(Buffer | number)[]>;
  kvEntityFill(numKeys: number, ...args: (string | number | Buffer)[]): Promise<number[]>;
  kvEntityInvalidate(numKeys: number, ...args: string[]): Promise<number>;
};

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

export function createRedisEntityStorage(client: Redis | Cluster): EntityStorage {
  const redis = client as (Redis | Cluster) & Scripted;
  if (typeof (client as unknown as Partial<Scripted>).kvEntityReadBuffer !== 'function') {
    client.defineCommand('kvEntityRead', { lua: READ_OR_LEASE });
    client.defineCommand('kvEntityFill', { lua: FILL });
    client.defineCommand('kvEntityInvalidate', { lua: INVALIDATE });
  }
  const cluster = 'isCluster' in client && client.isCluster === true;

  return {
    async readOrLease(keys, token, leaseMs) {
      const out: ReadOutcome[] = new Array(keys.length);
      await Promise.all(
        bySlot(keys, cluster).map(async (group) => {
          const replies = await redis.kvEntityReadBuffer(group.length, ...group.map((i) => keys[i]!), token, leaseMs);
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
          const replies = await redis.kvEntityFill(group.length, ...group.map((i) => fills[i]!.key), token, ...args);
          group.forEach((index, j) => (out[index] = replies[j] === 1));
        }),
      );
      return out;
    },
    /**
     * Admin purge only: entity keys have no index (a read is one GET), so dropping all of them
     * walks this prefix's keys with SCAN, in pages, on every master. Never on a request path.
     */
    async clear(prefix) {
      const nodes = 'nodes' in client && cluster ? (client as Cluster).nodes('master') : [client as Redis];
      let dropped = 0;
      for (const node of nodes) {
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}{e:*`, 'COUNT', 500);
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
        bySlot(keys, cluster).map((group) => redis.kvEntityInvalidate(group.length, ...group.map((i) => keys[i]!))),
      );
    },
  };
}
