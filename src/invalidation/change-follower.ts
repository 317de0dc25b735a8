/**
 * Follows the change log (writes made outside the API, captured by triggers in their transaction)
 * and drops what they changed from both cache levels, through the same table (table.ts) and the same
 * apply as the API's mutations. It runs a round when Postgres notifies it, every `pollMs` as a
 * backstop, and whenever its listening connection is (re)established (catch-up).
 *
 * Position. Row ids come from a sequence drawn before commit, so they commit out of order: "the
 * highest id seen" would skip a lower id that commits later. The follower keeps a transaction horizon
 * H instead: every transaction below H had finished when H was read, and every row they wrote has been
 * applied. A round reads H' = xmin of a fresh snapshot FIRST, then every row with xid >= H (pages by
 * id), applies those not applied yet, and moves H to H'. Everything below H' was finished before the
 * rows were read, so was seen; rows at or above H' are read again next round, and the ids applied
 * above H are remembered so that none is applied twice. An aborted transaction's rows never become
 * visible; a long one only holds H back.
 *
 * Where the caches are shared (Redis), H is kept beside them, so an instance (re)starting resumes
 * where the caches were left. Rows are pruned after `retentionMs`: a position older than that may
 * have missed pruned rows, so the caches are flushed (both levels) before they are trusted again.
 */
import type { CacheCounters } from '../cache/counters.js';
import type { ChangeLogRepository, LoggedChange } from '../db/repositories/change-log.js';
import type { Change } from '../domain/changes.js';
import type { Logger } from '../observability/logger.js';
import { changeOf } from './change-rows.js';
import type { CacheInvalidator } from './invalidator.js';
import { invalidationForAll } from './table.js';

/** Where the shared caches' position is kept: `horizon@epochMs` of the last round. */
export type PositionStore = { load(): Promise<string | null>; save(value: string): Promise<void> };

export const CHANGE_CHANNEL = 'kitvault_changes';

export type ChangeFollowerDeps = {
  log: ChangeLogRepository;
  invalidator: Pick<CacheInvalidator, 'applyDrop' | 'purgeAll'>;
  counters: CacheCounters;
  logger: Logger;
  /** Subscribes to the change channel (Database.listen); absent: polling only. */
  listen?(onNotify: () => void, onListen: () => void): Promise<() => Promise<void>>;
  /** Absent: the caches live in this process and start empty (nothing to resume). */
  position?: PositionStore;
  /** Backstop poll. Default 1,000 ms. */
  pollMs?: number;
  /** How long log rows are kept. Default 1 hour. */
  retentionMs?: number;
  /** How often this instance prunes. Default 60 s. */
  pruneEveryMs?: number;
  /** Rows read per query. Default 500. */
  pageSize?: number;
  /** Each applied row's lag, from its write (database clock) to its drop from the caches. */
  onApplied?(lagMs: number): void;
  /** The caches could not be reached: stop trusting them until caught up. */
  onUndelivered?(): void;
};

export type ChangeFollower = {
  /** One round now (after any running one): every change committed before the call is applied, or it throws. */
  catchUp(): Promise<void>;
  /** Catches up once, then listens, polls and prunes. */
  start(): Promise<void>;
  stop(): Promise<void>;
};

const later = (a: string, b: string) => (BigInt(a) >= BigInt(b) ? a : b);

export function createChangeFollower(deps: ChangeFollowerDeps): ChangeFollower {
  const { log, invalidator, counters, logger } = deps;
  const pollMs = deps.pollMs ?? 1000;
  const retentionMs = deps.retentionMs ?? 3_600_000;
  const pageSize = deps.pageSize ?? 500;

  let horizon: string | null = null;
  /** When the last round began: the log held every row at or above `horizon` then. */
  let roundAt = 0;
  /** Rows applied at or above the horizon (they are read again until it passes them): id → xid. */
  const applied = new Map<number, string>();

  /** Where to start: the shared position if it is recent enough, else now, after flushing the caches. */
  async function establish(): Promise<void> {
    const stored = (await deps.position?.load())?.split('@');
    if (stored?.length === 2 && Date.now() - Number(stored[1]) <= retentionMs) {
      horizon = stored[0]!;
      roundAt = Number(stored[1]);
      return;
    }
    const now = await log.horizon();
    // Caches that outlived the position (shared ones, or this instance's after falling behind) may
    // hold what pruned rows changed. In-process caches on first start are empty: nothing to flush.
    if (deps.position || horizon !== null) {
      if (!(await invalidator.purgeAll())) throw undelivered();
      counters.inc('change_purge', 'position');
      logger.warn('change log position missing or older than its retention: flushed the caches');
    }
    horizon = now;
    roundAt = Date.now();
    applied.clear();
  }

  function undelivered(): Error {
    deps.onUndelivered?.();
    return new Error('a change could not be delivered to the caches');
  }

  async function apply(rows: readonly LoggedChange[], readAt: number): Promise<void> {
    const changes: Change[] = [];
    let coarse = false;
    for (const row of rows) {
      const change = changeOf(row);
      if (change) changes.push(change);
      else {
        coarse = true;
        if (!row.coarse) logger.warn({ table: row.tableName, id: row.rowId }, 'unreadable change log row: purging all');
      }
    }
    // A TRUNCATE or a bulk statement: everything goes, once, however many rows it touched.
    const delivered = coarse ? await invalidator.purgeAll() : await invalidator.applyDrop(invalidationForAll(changes));
    if (!delivered) throw undelivered();
    if (coarse) counters.inc('change_purge', 'bulk');
    const now = Date.now();
    for (const row of rows) {
      counters.inc('change_applied', row.tableName);
      deps.onApplied?.(row.ageMs + (now - readAt));
    }
  }

  async function round(): Promise<void> {
    if (horizon === null || Date.now() - roundAt > retentionMs) await establish();
    const startedAt = Date.now();
    const next = await log.horizon();
    for (let afterId = 0; ;) {
      const rows = await log.since(horizon!, afterId, pageSize);
      const fresh = rows.filter((r) => !applied.has(r.id));
      if (fresh.length) await apply(fresh, Date.now());
      for (const r of fresh) applied.set(r.id, r.xid);
      if (rows.length < pageSize) break;
      afterId = rows.at(-1)!.id;
    }
    horizon = later(next, horizon!);
    roundAt = startedAt;
    for (const [id, xid] of applied) if (BigInt(xid) < BigInt(horizon)) applied.delete(id);
    await deps.position?.save(`${horizon}@${roundAt}`);
  }

  // Rounds run one at a time; wake-ups during a round fold into one more round after it.
  let chain: Promise<void> = Promise.resolve();
  let queued: Promise<void> | null = null;
  function schedule(): Promise<void> {
    if (queued) return queued;
    const next = chain.then(() => {
      queued = null;
      return round();
    });
    queued = next;
    chain = next.catch(() => {});
    return next;
  }

  let failing = false;
  const wake = () => {
    schedule().then(
      () => (failing = false),
      (error: unknown) => {
        if (!failing) logger.warn({ err: error }, 'cannot follow the change log (retrying)');
        failing = true;
      },
    );
  };

  let timers: NodeJS.Timeout[] = [];
  let unlisten: (() => Promise<void>) | null = null;

  return {
    catchUp: schedule,
    async start() {
      await schedule().catch((error: unknown) => logger.warn({ err: error }, 'change log catch-up failed (retrying)'));
      let listening = false;
      unlisten =
        (await deps
          .listen?.(wake, () => {
            // Notifications sent while the connection was down are lost: read the log from the position.
            if (listening) counters.inc('change_catch_up', 'reconnect');
            listening = true;
            wake();
          })
          .catch((error: unknown) => {
            logger.warn({ err: error }, 'cannot listen for changes: polling only');
            return null;
          })) ?? null;
      const prune = () =>
        void log
          .prune(retentionMs)
          .catch((error: unknown) => logger.warn({ err: error }, 'cannot prune the change log'));
      timers = [setInterval(wake, pollMs), setInterval(prune, deps.pruneEveryMs ?? 60_000)];
      for (const t of timers) t.unref();
    },
    async stop() {
      for (const t of timers) clearInterval(t);
      timers = [];
      await unlisten?.().catch(() => {});
      unlisten = null;
      await chain;
    },
  };
}
