/**
 * What the drop channel's two sides say: drops as they travel on Redis, and the messages between the
 * main thread (drop-channel.ts) and the channel's worker (drop-worker.ts).
 */

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

/** The main thread to the worker. */
export type ToWorker = { type: 'announce'; id: number; drop: Drop } | { type: 'close' };

/** The worker to the main thread. */
export type FromWorker =
  /** A drop heard and applied to the marks: the main thread frees what it names. */
  | { type: 'dropped'; drop: Drop }
  /** The channel was lost (the marks say so already): the main thread frees everything. */
  | { type: 'lost' }
  /** Announce `id` is done (`ms` from its PUBLISH until every instance had applied it), or failed to be sent. */
  | { type: 'announced'; id: number; ms: number; acknowledged: boolean }
  | { type: 'failed'; id: number; message: string }
  /** A heartbeat, acknowledgement or subscription that failed. */
  | { type: 'report'; where: string; message: string };

/** How the worker reaches Redis: the plain part of the main client's options (functions cannot cross threads). */
export type WorkerRedisOptions = {
  host?: string;
  port?: number;
  path?: string;
  username?: string;
  password?: string;
  db?: number;
  family?: number;
  tls?: Record<string, unknown>;
  connectTimeout?: number;
  commandTimeout?: number;
};

export type WorkerData = {
  marks: SharedArrayBuffer;
  redis: WorkerRedisOptions;
  channel: string;
  staleMs: number;
  heartbeatMs: number;
};

export function parseDrop(text: string): Drop | null {
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
