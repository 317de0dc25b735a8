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

export class NotReplicatedError extends Error {
  override name = 'NotReplicatedError';
}

const isCluster = (client: Redis | Cluster): client is Cluster => 'isCluster' in client && client.isCluster;

/**
 * Resolves once every replica of each master serving one of `keys` has the writes sent to it so far
 * (one WAIT per master, together; at once on a single Redis: a lone server has no replica to lose a
 * write to).
 */
export async function awaitReplicas(
  client: Redis | Cluster,
  keys: readonly string[],
  timeoutMs: number,
): Promise<void> {
  if (!isCluster(client)) return;
  const masters = new Map<string, number>();
  for (const key of keys) {
    const [master, ...replicas] = client.slots[calculateSlot(key)] ?? [];
    if (master && replicas.length) masters.set(master, replicas.length);
  }
  if (!masters.size) return;
  const nodes = client.nodes('master');
  await Promise.all(
    [...masters].map(async ([master, replicas]) => {
      const node = nodes.find((n) => `${n.options.host}:${n.options.port}` === master);
      if (!node) throw new NotReplicatedError(`no connection to ${master}`);
      const acknowledged = Number(await node.call('WAIT', replicas, Math.max(1, Math.round(timeoutMs))));
      if (acknowledged < replicas)
        throw new NotReplicatedError(`${acknowledged} of ${replicas} replicas of ${master} acknowledged`);
    }),
  );
}
