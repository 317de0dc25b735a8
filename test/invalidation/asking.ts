/** How the change-log tests ask an instance: a query, its writes settled, and whether it was a hit. */
import { expect } from 'vitest';
import { gql } from '../helpers/app.js';
import type { CachedApp } from '../helpers/caches.js';

export const KIT = 'query($k: ID!) { kit(id: $k) { name } }';

export async function ask(c: CachedApp, query: string, variables: Record<string, unknown> = {}) {
  const r = await gql(c.app, query, variables);
  await c.caches.settled();
  return r;
}

/** Asks twice: the second answer must be a hit. */
export async function warm(c: CachedApp, query: string, variables: Record<string, unknown> = {}) {
  await ask(c, query, variables);
  expect((await ask(c, query, variables)).extensions?.responseCache?.hit, `${query} warmed`).toBe(true);
}
