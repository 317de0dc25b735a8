/**
 * Waiting for replicas after an invalidation. Redis replicates asynchronously: a master that
 * acknowledged a drop and died before its replica had it would be replaced by a replica that still
 * serves the dropped entries. So on a Cluster, after an invalidation script, the invalidator asks the
 * master that ran it to WAIT until its replicas have it; when they do not within the bound, the
 * invalidation counts as failed (its durable record is kept and applied again on recovery).
 *
 * WAIT covers the writes sent before it on the same connection: ioredis keeps one connection per
 * node and the Cluster client sends a slot's commands on its master's, which is what `nodes()` hands
 * out, so the WAIT follows the script on the connection that ran it.
 */
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { isCluster, type RedisClient } from './client.js';

export class NotReplicatedError extends Error {
  override name = 'NotReplicatedError';
}

/** How long a master's own count of its replicas (ROLE) is trusted. */
const ROLE_TTL_MS = 1000;
/** Per client: master address → its connected replicas as ROLE last said, and when. */
const roles = new WeakMap<Cluster, Map<string, { replicas: number; at: number }>>();

/**
 * How many replicas `master` has. The client's slot table lists them (CLUSTER SLOTS), so usually no
 * question is asked; but CLUSTER SLOTS leaves out a replica that has no data yet (offset 0) and the
 * table is refreshed every few seconds only, so a fresh cluster, or one whose replica just synced,
 * reads as having none. Then the master itself is asked (ROLE), at most once a second.
 */
async function replicasOf(client: Cluster, node: Redis, master: string, listed: number): Promise<number> {
  if (listed > 0) return listed;
  let known = roles.get(client);
  if (!known) roles.set(client, (known = new Map()));
  const cached = known.get(master);
  if (cached && Date.now() - cached.at < ROLE_TTL_MS) return cached.replicas;
  const role: unknown = await node.call('ROLE');
  const replicas = Array.isArray(role) && role[0] === 'master' && Array.isArray(role[2]) ? role[2].length : 0;
  known.set(master, { replicas, at: Date.now() });
  return replicas;
}

/**
 * Resolves once every replica of each master serving one of `keys` has the writes sent to it so far
 * (one WAIT per master, together; at once on a single Redis: a lone server has no replica to lose a
 * write to).
 */
export async function awaitReplicas(client: RedisClient, keys: readonly string[], timeoutMs: number): Promise<void> {
  if (!isCluster(client)) return;
  const masters = new Map<string, number>();
  for (const key of keys) {
    const [master, ...replicas] = client.slots[calculateSlot(key)] ?? [];
    if (master) masters.set(master, replicas.length);
  }
  if (!masters.size) return;
  const nodes = client.nodes('master');
  await Promise.all(
    [...masters].map(async ([master, listed]) => {
      const node = nodes.find((n) => `${n.options.host}:${n.options.port}` === master);
      if (!node) throw new NotReplicatedError(`no connection to ${master}`);
      const replicas = await replicasOf(client, node, master, listed);
      if (!replicas) return;
      const acknowledged = Number(await node.call('WAIT', replicas, Math.max(1, Math.round(timeoutMs))));
      if (acknowledged < replicas)
        throw new NotReplicatedError(`${acknowledged} of ${replicas} replicas of ${master} acknowledged`);
    }),
  );
}
