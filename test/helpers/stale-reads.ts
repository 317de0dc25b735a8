/**
 * What the randomized stale-read tests (key loss, cluster failover) read and write: the query texts,
 * and the kits they follow (the first few of each of a few clubs, read from the uncached truth).
 */
import type { App } from '../../src/app.js';
import { data } from './app.js';

export const KIT = 'query($id: ID!) { kit(id: $id) { id name } }';
export const KIT_CLUB = 'query($id: ID!) { kit(id: $id) { id name club { id name } } }';
export const CLUB = 'query($id: ID!) { club(id: $id) { id name } }';
export const CLUB_KITS = 'query($id: ID!) { club(id: $id) { name kits(first: 50) { edges { node { id name } } } } }';
export const KITS_OF = 'query($c: ID) { kits(clubId: $c, first: 50) { edges { node { id name } } } }';
export const RENAME_KIT = 'mutation($id: ID!, $name: String!) { updateKit(input: { id: $id, name: $name }) { id } }';
export const RENAME_CLUB = 'mutation($id: ID!, $name: String!) { updateClub(input: { id: $id, name: $name }) { id } }';

/** The first `perClub` kits of each club, in club order, as the truth lists them. */
export async function kitsOfClubs(truth: App, clubIds: readonly string[], perClub = 2): Promise<string[]> {
  const kitIds: string[] = [];
  for (const c of clubIds) {
    const { kits } = await data<{ kits: { edges: { node: { id: string } }[] } }>(truth, KITS_OF, { c });
    kitIds.push(...kits.edges.slice(0, perClub).map((e) => e.node.id));
  }
  return kitIds;
}
