/**
 * What a committed write changed, described in domain terms. Mutations produce these; the cache
 * layers turn them into entity keys and response-cache tags (src/invalidation/table.ts).
 */
import type { BrandRow, ClubRow, CollectionItemRow, CompetitionRow, KitRow, SeasonRow } from '../db/schema.js';

export type KitSnapshot = KitRow & { competitionIds: number[] };

/** `before` absent: created. `after` absent: deleted. Both: updated. */
export type Change =
  | { entity: 'Club'; before?: ClubRow; after?: ClubRow }
  | { entity: 'Season'; before?: SeasonRow; after?: SeasonRow }
  | { entity: 'Brand'; before?: BrandRow; after?: BrandRow }
  | { entity: 'Competition'; before?: CompetitionRow; after?: CompetitionRow; kitIds: number[] }
  | { entity: 'Kit'; before?: KitSnapshot; after?: KitSnapshot; collectorIds: number[] }
  | { entity: 'CollectionItem'; before?: CollectionItemRow; after?: CollectionItemRow };

/** Runs after a write's transaction commits and before the mutation answers. */
export interface Invalidator {
  afterCommit(changes: readonly Change[]): Promise<void>;
}

export const noInvalidation: Invalidator = { afterCommit: async () => {} };
