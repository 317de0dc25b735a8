/**
 * Compiled execution (graphql-jit, on by default) answers as graphql-js does: the same data, the
 * same errors with the same messages, codes and paths, the same HTTP status, for the shapes this API
 * serves (lists with lazy counts, unions, fragments, directives, variables, a viewer's private
 * connection, client mistakes, and an operation type the schema does not have). The one difference,
 * stated in README: an error a resolver raised carries no `locations` (its `path` names the field).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/client.js';
import { gql, testApp, tokensFor } from '../helpers/app.js';
import { openTestDatabase } from '../helpers/database.js';

let database: Database;
let compiled: App;
let interpreted: App;
let user = '';

beforeAll(async () => {
  database = await openTestDatabase();
  compiled = testApp(database);
  interpreted = testApp(database, { compiledExecution: false });
  user = (await tokensFor(compiled, ['user1'])).get('user1')!.token;
});
afterAll(() => database?.close());

const CASES: [name: string, query: string, variables?: Record<string, unknown>, viewer?: boolean][] = [
  [
    'nested lists with their lazy counts, aliases and a fragment',
    `query ($first: Int, $club: ID) {
      kits(first: $first) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ...K } } }
      mine: kits(clubId: $club, type: HOME) { totalCount edges { node { id } } }
      clubs(first: 3) { totalCount edges { node { id name seasons { label } kits(first: 2) { totalCount edges { node { id } } } } } }
    }
    fragment K on Kit { id name type primaryColour secondaryColours club { name } season { label } brand { name } competitions { name } }`,
    { first: 7, club: '3' },
  ],
  [
    'a union with inline fragments and __typename',
    `{ search(text: "a", first: 10) { __typename ... on Club { id name } ... on Kit { id name } ... on Brand { id } ... on Competition { id name } } }`,
  ],
  [
    'skip and include by variable',
    `query ($yes: Boolean!, $no: Boolean!) { brands { id name @include(if: $yes) country: id @skip(if: $no) } seasons { label @skip(if: $yes) } }`,
    { yes: true, no: false },
  ],
  ['an absent id and a malformed one', `{ kit(id: "987654") { id } club(id: "abc") { id } }`],
  ['a negative page size', `{ kits(first: -1) { totalCount } }`],
  ['a cursor this API did not issue', `{ clubs(after: "bm90IGEgY3Vyc29y") { totalCount } }`],
  [
    'a viewer and their private connection',
    `{ me { username collection(first: 3) { totalCount edges { node { id } } } } }`,
    {},
    true,
  ],
  [
    'a mutation refused for bad input',
    `mutation { createKit(input: { clubId: "0", seasonId: "1", brandId: "1", type: HOME, name: "x", primaryColour: "red" }) { id } }`,
  ],
  ['an operation type the schema does not have', `subscription { kits { totalCount } }`],
  ['a variable of the wrong type', `query ($n: Int) { kits(first: $n) { totalCount } }`, { n: 'abc' }],
  ['a required variable left out', `query ($n: Int!) { kits(first: $n) { totalCount } }`],
  ['an enum variable with no such value', `query ($t: KitType) { kits(type: $t) { totalCount } }`, { t: 'NOPE' }],
  ['introspection', `{ __type(name: "KitConnection") { name fields { name type { kind name ofType { name } } } } }`],
];

describe('compiled execution', () => {
  it('runs the operation a request names, in a document holding several', async () => {
    const document = `query Clubs { clubs(first: 2) { totalCount } } query Brands { brands { id } }`;
    const answers = [];
    // The same text twice each way: the second request of each name finds the document parsed (and,
    // were it compiled by document alone, the other operation compiled).
    for (const name of ['Clubs', 'Brands', 'Clubs', 'Brands']) {
      const body = { query: document, operationName: name };
      const response = await compiled.fetch('http://kitvault.test/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
        body: JSON.stringify(body),
      });
      answers.push(Object.keys(((await response.json()) as { data: Record<string, unknown> }).data));
    }
    expect(answers).toEqual([['clubs'], ['brands'], ['clubs'], ['brands']]);
  });

  it.each(CASES)('answers as graphql-js does: %s', async (_name, query, variables = {}, viewer = false) => {
    const token = viewer ? user : undefined;
    const [fast, reference] = await Promise.all([
      gql(compiled, query, variables, token),
      gql(interpreted, query, variables, token),
    ]);
    expect(fast.status).toBe(reference.status);
    expect(fast.errors).toEqual(
      reference.errors?.map((error) => (error.path ? { ...error, locations: undefined } : error)),
    );
    expect(fast.data).toEqual(reference.data);
    // Every case answers something: data, or an error a client can act on.
    expect(fast.data ?? fast.errors).toBeTruthy();
  });
});
