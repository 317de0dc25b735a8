/**
 * Keeps every instance's local layers (local-layer.ts) coherent through Redis pub/sub, so that once
 * a write has answered, no instance serves from its local layer what the write dropped.
 *
 * - A drop (keys and groups) is announced after Redis has it; every instance, the writer included,
 *   applies it when the message arrives and acknowledges it. The writer waits for an
 *   acknowledgement from every instance whose heartbeat it heard within `staleMs`, and for at least
 *   as many as PUBLISH counted receivers: at most `staleMs` from when PUBLISH answered.
 * - An instance that did not acknowledge in time cannot be serving from its layer: every instance
 *   publishes a heartbeat every `heartbeatMs` and serves locally only while its own heartbeat, sent
 *   less than `staleMs` ago, has come back. Redis delivers a channel's messages in order, so a
 *   heartbeat sent after a drop was published comes back after that drop.
 * - A lost subscription empties the layer, and it stays unused until a heartbeat sent after
 *   resubscribing has come back.
 *
 * The channel runs on a thread of its own (drop-worker.ts). It applies a drop to marks in shared
 * memory (drop-marks.ts) that the layers check on every read, and acknowledges it at once: neither
 * waits for this thread's event loop, which under load lags by tens to hundreds of milliseconds.
 * This thread hears of each drop afterwards too (`onDrop`), only to free the memory it held.
 *
 * A single Redis only: on a Cluster, PUBLISH counts the receivers of one node, so the writer could
 * not tell when every instance has applied a drop.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { DropMarks } from './drop-marks.js';
import type { Drop, FromWorker, ToWorker, WorkerData, WorkerRedisOptions } from './drop-messages.js';

export { UNNAMED_DROPS_LAYER, type Drop } from './drop-messages.js';

export type DropChannel = {
  /** Whether the local layer may be read and filled now. */
  live(): boolean;
  /** Moves on every drop heard and every loss of the channel: a local fill begun before a drop of its names is not kept. */
  epoch(): number;
  /** Applies a drop made here to the marks, before it is announced (a batch that read before it must not keep its value). */
  bump(drop: Drop): void;
  /** Announces a drop to every instance; resolves when all have applied it (or after `staleMs`). Rejects if it could not be sent. */
  announce(drop: Drop): Promise<void>;
  /** Resolves once subscribed and live, or after `timeoutMs`. */
  ready(timeoutMs?: number): Promise<void>;
  close(): void;
};

export type DropChannelOptions = {
  /** The client whose server (and credentials) the channel's own two connections use. */
  redis: Redis;
  channel: string;
  /** Shared with the layers, which check it on every read (drop-marks.ts). */
  marks: DropMarks;
  /** How old this instance's last returned heartbeat may be while it serves locally; how long a writer waits at most. Default 1,000 ms. */
  staleMs?: number;
  /** How often it sends one. Default 100 ms (each costs every instance on the channel a message). */
  heartbeatMs?: number;
  /** Free what a drop heard names (the marks already keep it from being read). */
  onDrop(drop: Drop): void;
  /** Free everything (the channel was lost; the marks already keep it all from being read). */
  onLost(): void;
  /** Told about a failed heartbeat or acknowledgement (a failed announce rejects instead). */
  report(where: string, error: unknown): void;
  /**
   * Told when an announced drop is done: how long from its PUBLISH until every instance had applied
   * it, and whether they all acknowledged (false: the wait ended at `staleMs`). Must not throw.
   */
  onDelivered?(ms: number, acknowledged: boolean): void;
  /** Where its thread starts. Default `workerEntry()`; tests hand a thread that stops or stays silent. */
  worker?: WorkerEntry;
};

/** A thread's start: a module to load, or code to evaluate (`eval`). */
export type WorkerEntry = { entry: string | URL; eval: boolean };

/** If the worker stops on its own (it should not), it is started again after this long; its layers are unused meanwhile. */
const RESTART_MS = 1_000;

/** The part of tsx's package.json that names its ESM API module. */
const TsxManifest = z.object({
  exports: z.object({ './esm/api': z.object({ import: z.object({ default: z.string() }) }) }),
});

/** tsx's ESM API module, by its package's exports map (its CommonJS build cannot register from a worker). */
function tsxRegisterModule(): string {
  const manifest = createRequire(import.meta.url).resolve('tsx/package.json');
  const { exports } = TsxManifest.parse(JSON.parse(readFileSync(manifest, 'utf8')));
  return new URL(exports['./esm/api'].import.default, pathToFileURL(manifest)).href;
}

/**
 * How the worker starts: the built JavaScript beside this file, or (the TypeScript source, under tsx
 * and vitest) through tsx's loader registered in the worker first, since a worker does not inherit
 * the loaders of the thread that starts it.
 */
export function workerEntry(): WorkerEntry {
  const built = new URL('./drop-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return { entry: built, eval: false };
  const api = tsxRegisterModule();
  const source = new URL('./drop-worker.ts', import.meta.url).href;
  return {
    entry: `import(${JSON.stringify(api)}).then(({ register }) => { register(); return import(${JSON.stringify(source)}); });`,
    eval: true,
  };
}

/**
 * Why the channel's thread could not reach Redis the way `redis` does, or null. It gets the plain
 * connection options (functions and sockets cannot cross threads): a Sentinel client or a custom
 * connector would leave it on another server, hearing no drop while its heartbeats come back.
 */
export function dropChannelUnsupported(redis: Redis): string | null {
  const { sentinels, Connector, tls } = redis.options;
  if (sentinels?.length) return 'a Redis Sentinel client';
  if (Connector) return 'a custom connector';
  try {
    structuredClone(tls);
  } catch {
    return 'TLS options that cannot be handed to another thread';
  }
  return null;
}

/** The plain, cloneable part of the client's connection options (those it has set). */
function connectionOf(redis: Redis): WorkerRedisOptions {
  const { host, port, path, username, password, db, family, tls, connectTimeout, commandTimeout } = redis.options;
  const set = { host, port, path, username, password, db, family, connectTimeout, commandTimeout };
  const options: WorkerRedisOptions = Object.fromEntries(
    Object.entries(set).filter(([, value]) => value !== undefined && value !== null && value !== ''),
  );
  if (tls) options.tls = { ...tls };
  return options;
}

export function createDropChannel(options: DropChannelOptions): DropChannel {
  const { marks, onDrop, onLost, report } = options;
  const staleMs = options.staleMs ?? 1000;
  const data: WorkerData = {
    marks: marks.buffer,
    redis: connectionOf(options.redis),
    channel: options.channel,
    staleMs,
    heartbeatMs: options.heartbeatMs ?? 100,
  };
  const entry = options.worker ?? workerEntry();
  let closed = false;
  let worker: Worker | null = null;
  let announced = 0;
  const waiting = new Map<number, { resolve(): void; reject(error: Error): void }>();

  function heard(message: FromWorker) {
    switch (message.type) {
      case 'dropped': {
        onDrop(message.drop);
        break;
      }
      case 'lost': {
        onLost();
        break;
      }
      case 'announced': {
        options.onDelivered?.(message.ms, message.acknowledged);
        waiting.get(message.id)?.resolve();
        waiting.delete(message.id);
        break;
      }
      case 'failed': {
        waiting.get(message.id)?.reject(new Error(message.message));
        waiting.delete(message.id);
        break;
      }
      case 'report': {
        report(message.where, new Error(message.message));
        break;
      }
    }
  }

  let restarts = 0;
  function start() {
    let started: Worker;
    try {
      started = new Worker(entry.entry, { workerData: data, eval: entry.eval });
    } catch (error) {
      report('l1.worker', error);
      restartLater();
      return;
    }
    worker = started;
    started.unref(); // the process's own work decides when it ends; close() stops the worker
    const startedAt = performance.now();
    started.on('message', heard);
    started.on('error', (error) => report('l1.worker', error));
    started.on('exit', () => {
      if (worker !== started) return;
      worker = null;
      // Its connections are gone with it: nothing may be served from the layers until it is back.
      marks.lose();
      onLost();
      for (const [, pending] of waiting) pending.reject(new Error('the drop channel stopped'));
      waiting.clear();
      if (performance.now() - startedAt > 60_000) restarts = 0; // it had been working: back at once
      restartLater();
    });
  }
  /** After 1 s, doubling up to a minute while it keeps stopping (each stop is reported). */
  function restartLater() {
    if (closed) return;
    const delay = Math.min(RESTART_MS * 2 ** restarts++, 60_000);
    setTimeout(() => closed || start(), delay).unref();
  }
  start();

  /**
   * With no worker running (it stopped and is not back yet), the drop still goes out, on the
   * client's own connection, in the same format: an instance that hears it applies it; one that does
   * not stops serving from its layers within `staleMs`, which is how long this waits.
   */
  async function announceWithoutWorker(drop: Drop): Promise<void> {
    const started = performance.now();
    await options.redis.publish(options.channel, `d main:${randomUUID()} ${JSON.stringify(drop)}`);
    await new Promise((resolve) => setTimeout(resolve, staleMs).unref());
    options.onDelivered?.(performance.now() - started, false);
  }

  /** The longest an announce may take: PUBLISH (bounded by the client's command timeout), then `staleMs`. */
  const announceBoundMs = staleMs + (options.redis.options.commandTimeout ?? 1_000) + 1_000;

  return {
    live: () => marks.live(staleMs),
    epoch: () => marks.epoch(),
    bump: (drop) => marks.apply(drop.layer, drop.keys, drop.groups, drop.all === true),
    announce(drop) {
      if (!drop.keys.length && !drop.groups.length && !drop.all) return Promise.resolve();
      if (closed) return Promise.reject(new Error('the drop channel is closed'));
      const running = worker;
      if (!running) return announceWithoutWorker(drop);
      const id = ++announced;
      return new Promise<void>((resolve, reject) => {
        // A worker that neither answers nor stops cannot hold a write forever.
        const timer = setTimeout(() => {
          waiting.delete(id);
          reject(new Error(`the drop channel did not answer within ${announceBoundMs} ms`));
        }, announceBoundMs);
        timer.unref();
        const settle = (done: () => void) => () => {
          clearTimeout(timer);
          done();
        };
        waiting.set(id, { resolve: settle(resolve), reject: (error) => settle(() => reject(error))() });
        running.postMessage({ type: 'announce', id, drop } satisfies ToWorker);
      });
    },
    async ready(timeoutMs = 2000) {
      const until = performance.now() + timeoutMs;
      while (!closed && performance.now() < until && !marks.live(staleMs))
        await new Promise((resolve) => setTimeout(resolve, 5));
    },
    close() {
      closed = true;
      marks.close();
      const stopping = worker;
      worker = null;
      if (stopping) {
        stopping.postMessage({ type: 'close' } satisfies ToWorker);
        // It ends by itself once its connections are closed; this bounds the wait.
        setTimeout(() => void stopping.terminate(), 1_000).unref();
      }
      for (const [, pending] of waiting) pending.reject(new Error('the drop channel is closed'));
      waiting.clear();
    },
  };
}
