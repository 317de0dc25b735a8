/**
 * Search: the one read that is neither "by id", "children of a parent" nor a list page (those are
 * loaders, cached by the entity layer). Its hits are typed ids; the resolver loads their rows.
 */
import type { SearchHit } from '../db/repositories/catalogue.js';
import type { Repositories } from '../loaders/index.js';

/** What a search finds, for the resolvers (which see no repository). */
export type { SearchHit };

export function createCatalogueReads(repos: Repositories) {
  const { catalogue } = repos;
  return {
    search: (text: string, limit: number): Promise<SearchHit[]> => catalogue.search(text, limit),
  };
}

export type CatalogueReads = ReturnType<typeof createCatalogueReads>;
