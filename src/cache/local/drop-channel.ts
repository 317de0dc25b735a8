/**
 * Keeps every instance's local layers (local-layer.ts) coherent through Redis pub/sub, so that once
 * a write has answered, no instance serves from its local layer what the write dropped.
 *
 * - A drop (keys and groups) is announced after Redis has it; every instance, the writer included,
 *   drops them locally when the message arrives and acknowledges it. The writer waits for an
 *   acknowledgement from every instance whose heartbeat it heard within `staleMs`, and for at least
 *   as many as PUBLISH counted receivers: at most `staleMs` from when PUBLISH answered.
 * - An instance that did not acknowledge in time cannot be serving from its layer: every instance
 *   publishes a heartbeat every `heartbeatMs` and serves locally only while its own heartbeat, sent
 *   less than `staleMs` ago, has come back. Redis delivers a channel's messages in order, so a
 *   heartbeat sent after a drop was published comes back after that drop.
 * - A lost subscription empties the layer (`onLost`), and it stays unused until a heartbeat sent
 *   after resubscribing has come back.
 *
 * A single Redis only: on a Cluster, PUBLISH counts the receivers of one node, so the writer could
 * not tell when every instance has applied a drop.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * What a write dropped from one of the layers sharing the channel (named by `layer`): keys,
 * groups, or (an admin purge) everything.
 */
export type Drop = { layer: string; keys: readonly string[]; groups: readonly string[]; all?: boolean };

/**
 * The layer of a drop that names none: an instance of the build before the response layer sends
 * such drops, and they are the entity cache's (whose layer takes this name).
 */
export const UNNAMED_DROPS_LAYER = 'entity';

export type DropChannel = {
  /** Whether the local layer may be read and filled now. */
  live(): boolean;
  /** Moves on every drop heard and every loss of the channel: a local fill begun before a move is not kept. */
  epoch(): number;
  /** Moves the epoch for a drop made here, before it is announced (a batch that read before it must not keep its value). */
  bump(): void;
  /** Announces a drop to every instance; resolves when all have applied it (or after `staleMs`). Rejects if it could not be sent. */
  announce(drop: Drop): Promise<void>;
  /** Resolves once subscribed and live, or after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  close(): void;
};

export type DropChannelOptions = {
  redis: Redis;
  channel: string;
  /** How old this instance's last returned heartbeat may be while it serves locally; how long a writer waits at most. Default 1,000 ms. */
  staleMs?: number;
  /** How often it sends one. Default 100 ms (each costs every instance on the channel a message). */
  heartbeatMs?: number;
  /** Drop these from the local layer (a drop heard). */
  onDrop(drop: Drop): void;
  /** Empty the local layer (the channel was lost). */
  onLost(): void;
  /** Told about a failed heartbeat or acknowledgement (a failed announce rejects instead). */
  report(where: string, error: unknown): void;
  /**
   * Told when an announced drop is done: how long from its PUBLISH until every instance had applied
   * it, and whether they all acknowledged (false: the wait ended at `staleMs`). Must not throw.
   */
  onDelivered?(ms: number, acknowledged: boolean): void;
};

/**
 * A drop waiting for its acknowledgements: one from every instance whose heartbeat was heard within
 * `staleMs` (an instance Redis no longer counts as subscribed may not know it yet, and may still be
 * serving locally), and at least as many as PUBLISH counted.
 */
type Pending = { expected: Set<string>; acknowledged: Set<string>; counted: number; done(): void };

const complete = (p: Pending) =>
  p.acknowledged.size >= p.counted && [...p.expected].every((id) => p.acknowledged.has(id));

export function createDropChannel(options: DropChannelOptions): DropChannel {
  const { redis, channel, onDrop, onLost, report } = options;
  const staleMs = options.staleMs ?? 1000;
  const me = randomUUID();
  let subscribed = false;
  let closed = false;
  let epoch = 0;
  let confirmedAt = -Infinity;
  let beat = 0;
  let dropCount = 0;
  const sentAt = new Map<number, number>();
  const pending = new Map<string, Pending>();
  /** Instances heard on the channel, by when their last heartbeat arrived. */
  const members = new Map<string, number>();

  const subscriber = redis.duplicate({
    lazyConnect: true,
    enableOfflineQueue: true,
    enableAutoPipelining: false,
    autoResubscribe: false,
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(times * 100, 2000),
  });
  const lost = () => {
    if (subscribed) onLost();
    subscribed = false;
    confirmedAt = -Infinity;
    epoch += 1;
  };
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(
      () => {
        if (closed) return;
        // Whatever was dropped while we were not listening: start empty.
        onLost();
        epoch += 1;
        subscribed = true;
      },
      (error: unknown) => report('l1.subscribe', error),
    );
  });
  subscriber.on('close', lost);
  subscriber.on('error', () => {}); // a lost link shows as 'close'; the layer is bypassed meanwhile
  subscriber.on('message', (from: string, message: string) => {
    if (from === channel) heard(message);
  });
  subscriber.connect().catch(() => {});

  // Messages: `h <instance> <n>` a heartbeat, `a <drop id> <instance>` an acknowledgement,
  // `d <drop id> <json>` a drop.
  function heard(message: string) {
    const kind = message[0];
    if (kind === 'd') {
      const space = message.indexOf(' ', 2);
      const id = message.slice(2, space);
      const drop = parseDrop(message.slice(space + 1));
      if (!drop) return;
      epoch += 1;
      onDrop(drop);
      redis.publish(channel, `a ${id} ${me}`).catch((error: unknown) => report('l1.ack', error));
    } else if (kind === 'a') {
      const [, id, from] = message.split(' ');
      const waiting = id === undefined ? undefined : pending.get(id);
      if (!waiting || from === undefined) return;
      waiting.acknowledged.add(from);
      if (complete(waiting)) waiting.done();
    } else if (kind === 'h') {
      const [, from, count] = message.split(' ');
      if (from === undefined) return;
      members.set(from, performance.now());
      if (from !== me) return;
      const n = Number(count);
      const at = sentAt.get(n);
      if (at === undefined) return;
      if (subscribed) confirmedAt = Math.max(confirmedAt, at);
      for (const k of sentAt.keys()) if (k <= n) sentAt.delete(k);
    }
  }

  const heartbeat = setInterval(() => {
    if (!subscribed) return;
    beat += 1;
    sentAt.set(beat, performance.now());
    redis.publish(channel, `h ${me} ${beat}`).catch((error: unknown) => report('l1.heartbeat', error));
    if (sentAt.size > 1000) sentAt.clear(); // heartbeats that never came back (Redis away)
  }, options.heartbeatMs ?? 100);
  heartbeat.unref();

  return {
    live: () => subscribed && performance.now() - confirmedAt < staleMs,
    epoch: () => epoch,
    bump: () => {
      epoch += 1;
    },
    async announce(drop) {
      if (!drop.keys.length && !drop.groups.length && !drop.all) return;
      const id = `${me}:${++dropCount}`;
      let done!: () => void;
      const applied = new Promise<void>((resolve) => (done = resolve));
      const now = performance.now();
      const expected = new Set([...members].filter(([, seen]) => now - seen < staleMs).map(([member]) => member));
      for (const [member, seen] of members) if (now - seen >= 10 * staleMs) members.delete(member);
      const waiting: Pending = { expected, acknowledged: new Set(), counted: Infinity, done };
      pending.set(id, waiting);
      let timer: NodeJS.Timeout | undefined;
      try {
        waiting.counted = await redis.publish(channel, `d ${id} ${JSON.stringify(drop)}`);
        // From when Redis had it: an instance that does not acknowledge has stopped serving locally
        // `staleMs` after that (its heartbeats sent since come back after this drop).
        timer = setTimeout(done, staleMs);
        if (complete(waiting)) done();
        await applied;
        options.onDelivered?.(performance.now() - now, complete(waiting));
      } finally {
        clearTimeout(timer);
        pending.delete(id);
      }
    },
    async ready(timeoutMs = 2000) {
      const until = performance.now() + timeoutMs;
      while (!closed && performance.now() < until && !(subscribed && performance.now() - confirmedAt < staleMs))
        await new Promise((resolve) => setTimeout(resolve, 5));
    },
    close() {
      closed = true;
      clearInterval(heartbeat);
      subscriber.disconnect();
    },
  };
}

function parseDrop(text: string): Drop | null {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return null;
    const { layer, keys, groups, all } = value as Record<string, unknown>;
    const strings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
    if (!strings(keys) || !strings(groups)) return null;
    if (layer === undefined) return { layer: UNNAMED_DROPS_LAYER, keys, groups, all: all === true };
    return typeof layer === 'string' ? { layer, keys, groups, all: all === true } : null;
  } catch {
    return null;
  }
}
