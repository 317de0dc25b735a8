/**
 * Turns the domain changes of a write into entity keys and response tags (table.ts) and drops them
 * from both cache levels (a tag that names a list also voids that list's pages in the entity
 * cache: src/domain/lists.ts), for every server that shares them, then from the edge in front (by
 * surrogate key, src/cache/edge/). Entity keys go first, so a response recomputed after its tags
 * drop cannot read an old row from the entity level; the edge goes last, so a refetch by the edge
 * cannot find the old answer in the response store.
 *
 * Where the caches are shared (Redis), an invalidation is never forgotten:
 *  - it is recorded in Postgres inside the write's transaction (so it exists iff the write committed);
 *  - after commit this instance applies it, answers, and deletes the record (forget-batch.ts);
 *  - if it could not be delivered (Redis unreachable from here), this instance stops trusting the
 *    shared caches (`onUndelivered` opens its circuit breaker, whose recovery runs `catchUp` before
 *    any cached answer is served again), and the mutation waits a moment (`handOverMs`) for another
 *    instance to apply the record, which it marks due at once: every instance `follow`s the records,
 *    applying those due (released by their writer, or not deleted within `claimMs`: the writer died).
 *    Applying is idempotent, so two instances applying one record is harmless, but it is work (and
 *    misses) for nothing: while its writer is still delivering a record, nobody else applies it.
 */
import type { CacheCounters } from '../cache/counters.js';
import type { EdgePurge } from '../cache/edge/purge-twice.js';
import type { EntityCache } from '../cache/entity/entity-cache.js';
import type { FailOpenStore } from '../cache/response/index.js';
import type { InvalidationLogRepository, LoggedInvalidation } from '../db/repositories/invalidation-log.js';
import type { InvalidationReceipt, Invalidator } from '../domain/changes.js';
import { isListName } from '../domain/lists.js';
import { isNamespace, type DomainKey, type Namespace } from '../domain/registry.js';
import type { Logger } from '../observability/logger.js';
import { createForgetBatch } from './forget-batch.js';
import { invalidationForAll, type Invalidation } from './table.js';

export type CacheInvalidatorDeps = {
  entityCache: EntityCache<Namespace>;
  responseStore: FailOpenStore | null;
  counters: CacheCounters;
  logger: Logger;
  /** Where invalidations are made durable; null when the caches live in this process only. */
  log: InvalidationLogRepository | null;
  /** The edge in front (Varnish, a CDN), purged by tag after the shared store; null or absent: no edge. */
  edge?: EdgePurge | null;
  /** Told when an invalidation could not be delivered: stop trusting the shared caches until caught up. */
  onUndelivered?(): void;
  /**
   * How long a mutation whose invalidation could not be delivered waits for another instance to apply
   * it. Default 3,000 ms: a follower picks the record up within its interval (250 ms) and its own
   * delivery waits out the cut-off instance's in-process layers, up to 1 s per level.
   */
  handOverMs?: number;
  /**
   * How long a record's writer has to deliver it before the followers apply it too. Default 1,000 ms:
   * a delivery that succeeds takes milliseconds (its drops reach every instance's layers in tens of
   * them under load), so the followers no longer apply again, under load, what the writer is still
   * applying; one slower than this is applied twice, which is harmless. A writer that fails to
   * deliver marks its record due at once.
   */
  claimMs?: number;
};

export type CacheInvalidator = Invalidator & {
  /** Applies every recorded invalidation, whatever its age; throws if one cannot be delivered. */
  catchUp(): Promise<void>;
  /** Applies records their writers did not deliver, every `intervalMs`; answers a function that stops it. */
  follow(intervalMs?: number): () => void;
  /** Drops these keys and tags from both levels (idempotent); answers whether every part was delivered. */
  applyDrop(drop: Invalidation): Promise<boolean>;
  /** Drops everything from both levels; answers whether it was delivered. */
  purgeAll(): Promise<boolean>;
  /** Resolves once the records this instance delivered are deleted (they are, off the mutation's path). */
  settled(): Promise<void>;
};

const keyText = (k: DomainKey) => `${k.namespace}:${k.id}`;

function keysOf(texts: readonly string[]): DomainKey[] {
  return texts.flatMap((text) => {
    const at = text.lastIndexOf(':');
    const namespace = text.slice(0, at);
    const id = Number(text.slice(at + 1));
    return isNamespace(namespace) && Number.isSafeInteger(id) ? [{ namespace, id }] : [];
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createCacheInvalidator(deps: CacheInvalidatorDeps): CacheInvalidator {
  const { counters, logger, log } = deps;
  // At least the in-process layers' staleMs (1 s): waiting this long after an undelivered drop also
  // outlasts every layer that lost Redis with this instance (README, "The in-process layers").
  const handOverMs = deps.handOverMs ?? 3000;
  const claimMs = deps.claimMs ?? 1000;
  /** What beforeCommit worked out, for afterCommit of the same write: the table is read once per write. */
  const drops = new WeakMap<InvalidationReceipt, Invalidation>();
  const forgetting = log ? createForgetBatch(log.forget, logger) : null;

  /** Drops keys and tags from both levels; answers whether every part reached the shared caches. */
  async function apply(tags: readonly string[], keys: readonly DomainKey[]): Promise<boolean> {
    // Rows and the list groups named by the tags (their cached pages and counts), before the answers.
    const [rows, lists] = await Promise.all([
      deps.entityCache.invalidate(keys),
      deps.entityCache.invalidateGroups(tags.filter(isListName)),
    ]);
    const entities = rows && lists;
    let responses = true;
    if (deps.responseStore && tags.length) {
      responses = await deps.responseStore.tryInvalidate(tags);
      for (const tag of tags) counters.inc('response_invalidation', tag.split(/[:.]/)[0]);
      logger.debug({ tags }, 'response cache invalidated');
    }
    // After the store, so the edge cannot refetch the old answer from it. Also when the store could
    // not be told: this instance then stops trusting it (onUndelivered), and whoever delivers the
    // record later purges again. A purge the edge did not confirm is repeated once after a delay
    // (purge-twice.ts); if that fails too, the edge keeps the answer at most its capped max-age
    // (EDGE_MAX_AGE_SECONDS): records are kept for the shared store only, so a dead edge cannot
    // stall invalidation.
    if (tags.length) await deps.edge?.purge(tags);
    return entities && responses;
  }

  /** What a write's receipt drops: as recorded before its commit. */
  const dropOf = (receipt: InvalidationReceipt) => drops.get(receipt) ?? invalidationForAll(receipt.changes);

  /** Applies records and deletes those delivered; answers whether all were. */
  async function applyRecords(records: readonly LoggedInvalidation[]): Promise<boolean> {
    const delivered: number[] = [];
    for (const r of records) if (await apply(r.tags, keysOf(r.entityKeys))) delivered.push(r.id);
    counters.inc('invalidation_replayed', '', delivered.length);
    await log?.forget(delivered);
    return delivered.length === records.length;
  }

  /** Waits until nobody needs to apply the record any more, for at most handOverMs. */
  async function handOver(id: number): Promise<void> {
    const deadline = Date.now() + handOverMs;
    while (Date.now() < deadline) {
      await sleep(50);
      if (!(await log!.isPending(id))) return;
    }
    logger.warn(
      { record: id },
      'no instance could deliver an invalidation yet: it stays recorded and is applied when Redis is back',
    );
  }

  return {
    beforeCommit(tx, changes) {
      // Both before it returns (the Invalidator contract): the table's refusal, and the statement.
      const drop = invalidationForAll(changes);
      const written = log && (drop.tags.length || drop.keys.length);
      if (written) counters.inc('invalidation_recorded');
      const recordId = written ? log.record(tx, drop.tags, drop.keys.map(keyText), claimMs) : Promise.resolve(null);
      const recorded = recordId.then((id) => {
        const receipt = { changes, recordId: id };
        drops.set(receipt, drop);
        return receipt;
      });
      return { recorded };
    },

    async afterCommit(receipt) {
      const { recordId } = receipt;
      const { tags, keys } = dropOf(receipt);
      const wasDelivered = await apply(tags, keys);
      if (recordId === null) return;
      try {
        if (wasDelivered) forgetting?.add(recordId);
        else {
          deps.onUndelivered?.();
          // Best effort: if Postgres refuses this too, the record still falls due after `claimMs`,
          // which the hand-over outlasts.
          await log!.release(recordId).catch((error: unknown) => {
            logger.warn({ err: error, record: recordId }, 'could not hand an invalidation record over at once');
          });
          await handOver(recordId);
        }
      } catch (error) {
        // The write committed and its record stays: followers will apply it. Never fail the mutation for this.
        logger.warn({ err: error, record: recordId }, 'could not settle an invalidation record');
      }
    },

    async afterUnknownCommit(receipt) {
      const { tags, keys } = dropOf(receipt);
      // The record, if it committed, is not forgotten: a COMMIT still under way could land after
      // a refill read the old row, and then only the record's falling due puts that right.
      if (!(await apply(tags, keys))) deps.onUndelivered?.();
    },

    async catchUp() {
      if (!log) return;
      for (;;) {
        const records = await log.pending(500);
        if (!records.length) return;
        if (!(await applyRecords(records))) throw new Error('an invalidation could not be delivered while catching up');
        if (records.length < 500) return;
      }
    },

    applyDrop: (drop) => apply(drop.tags, drop.keys),

    settled: async () => forgetting?.settled(),

    async purgeAll() {
      try {
        await deps.entityCache.clear();
        await deps.responseStore?.clear();
        await deps.edge?.purgeAll();
        return true;
      } catch (error) {
        logger.warn({ err: error }, 'could not purge the caches');
        return false;
      }
    },

    follow(intervalMs = 250) {
      if (!log) return () => {};
      let busy = false;
      let failing = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        log
          .due(200)
          .then((records) => applyRecords(records))
          .then(() => (failing = false))
          .catch((error: unknown) => {
            if (!failing) logger.warn({ err: error }, 'cannot follow the invalidation records (retrying)');
            failing = true;
          })
          .finally(() => (busy = false));
      }, intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
