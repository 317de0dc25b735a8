/**
 * What a committed write changed, described in domain terms. Mutations produce these; the cache
 * layers turn them into entity keys and response-cache tags (src/invalidation/table.ts).
 */
import type { Tx } from '../db/client.js';
import type {
  BrandRow,
  ClubRow,
  CollectionItemRow,
  CompetitionRow,
  KitRow,
  PublicUserRow,
  SeasonRow,
} from '../db/schema.js';

/**
 * A kit as a write found or left it. `competitionIds` is null when the write did not read them: it
 * could not change the kit's memberships (its club, season, brand, type and competitions stay as
 * they were), and nothing it drops then depends on them (src/invalidation/table.ts).
 */
export type KitSnapshot = KitRow & { competitionIds: number[] | null };

/** `before` absent: created. `after` absent: deleted. Both: updated. */
export type Change =
  | { entity: 'Club'; before?: ClubRow; after?: ClubRow }
  | { entity: 'Season'; before?: SeasonRow; after?: SeasonRow }
  | { entity: 'Brand'; before?: BrandRow; after?: BrandRow }
  | { entity: 'Competition'; before?: CompetitionRow; after?: CompetitionRow; kitIds: number[] }
  | { entity: 'Kit'; before?: KitSnapshot; after?: KitSnapshot; collectorIds: number[] }
  | { entity: 'CollectionItem'; before?: CollectionItemRow; after?: CollectionItemRow }
  /** Written outside the API only (the change log): a user's public fields. */
  | { entity: 'User'; before?: PublicUserRow; after?: PublicUserRow };

/** What a write's transaction recorded for invalidation, handed back after commit. */
export type InvalidationReceipt = {
  changes: readonly Change[];
  /** The durable record written in the transaction (null where the caches live in this process only). */
  recordId: number | null;
};

/** How a write has the caches invalidated: recorded inside its transaction, applied after commit. */
export interface Invalidator {
  /**
   * Inside the write's transaction, as its last statement: makes the invalidation durable, so it
   * commits with the write. Not async, on purpose: it refuses by throwing before it returns, and it
   * has made its statement when it returns, so the writer sends COMMIT right behind that statement
   * without waiting for its answer, which comes with COMMIT's (`recorded`).
   */
  beforeCommit(tx: Tx, changes: readonly Change[]): { recorded: Promise<InvalidationReceipt> };
  /** After commit and before the mutation answers: drops what changed from every cache level. */
  afterCommit(receipt: InvalidationReceipt): Promise<void>;
  /**
   * After a COMMIT whose outcome is unknown (its reply lost, or it timed out while Postgres may still
   * carry it out): drops what may have changed, and leaves the durable record alone, to fall due and
   * be applied again by the followers once the outcome is settled.
   */
  afterUnknownCommit(receipt: InvalidationReceipt): Promise<void>;
}

export const noInvalidation: Invalidator = {
  beforeCommit: (_tx, changes) => ({ recorded: Promise.resolve({ changes, recordId: null }) }),
  afterCommit: async () => {},
  afterUnknownCommit: async () => {},
};
