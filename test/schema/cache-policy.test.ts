/**
 * The cache policy in the SDL, checked so that a new type or field cannot quietly be cached wrongly.
 *
 * 1. Private by default where it matters. Scope is PUBLIC unless a type or field says
 *    `@cacheControl(scope: PRIVATE)`, so a private field added without the directive would be
 *    cached once for everybody. The rule: an object type that a query can reach **only** by passing
 *    a PRIVATE field or a PRIVATE type (today everything under `Query.me` and `Query.cacheStats`)
 *    must itself be declared PRIVATE, at the type. Types that are also reachable without passing a
 *    PRIVATE field or type (the catalogue: `CollectionItem.kit` → `Kit`, and `PageInfo`) are public
 *    and stay so; the walk stops there. Declaring the type (not only the field that leads to it)
 *    matters because the response cache decides scope from the fields an operation selects and their
 *    return types: a later public path to the type, or a selection that stops at it (`totalCount`
 *    of a private connection), must still make the operation PRIVATE. For the same reason no union
 *    or interface a query reaches without passing anything PRIVATE may have a PRIVATE possible type:
 *    `... on User { username }` under such a field would not be seen as private.
 * 2. No list without invalidation. Every list field and connection field a query can reach must
 *    have a row in the field tag table (`fieldTags` in src/invalidation/table.ts), which tags the
 *    cached response so that a write adding or removing members drops it, or be listed in EXEMPT
 *    below with the reason its entries are dropped anyway.
 *
 * Each check is also run against a broken copy of the SDL or the table, so it is shown to fail.
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import {
  getNamedType,
  getNullableType,
  isAbstractType,
  isListType,
  isObjectType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import type { FieldTagTable } from '../../src/cache/response/index.js';
import { privateCoordinates } from '../../src/cache/response/policy.js';
import { fieldTags } from '../../src/invalidation/table.js';
import { buildSchema, loadTypeDefs } from '../../src/schema.js';

/**
 * List fields with no tag rule, and why that is safe. Check a new entry against the README's tag
 * table: who writes the list's membership, and which tag that write drops.
 */
const EXEMPT: Record<string, string> = {
  'Kit.secondaryColours':
    'scalars stored in the kit row itself, shown only with their kit: every kit write drops Kit:K, which the entry carries',
  'Kit.competitions':
    "the kit's memberships change only by createKit/updateKit/deleteKit (each drops Kit:K, carried by every entry " +
    'showing the kit) or by deleteCompetition (drops Competition:C, carried by every entry showing C in the list)',
  'ClubConnection.edges': 'the page of a connection: tagged by the field that returns it (Query.clubs), checked here',
  'KitConnection.edges':
    'the page of a connection: tagged by the field that returns it (Query.kits, Club/Season/Brand/Competition.kits), checked here',
  'CollectionItemConnection.edges':
    'the page of a connection: tagged by the field that returns it (User.collection), checked here',
};

type Reach = { type: GraphQLNamedType; via: string[] };

/**
 * Composite types a query reaches, each with one path to it (field coordinates). `pass` says whether
 * the walk may go through a field (by coordinate) into its type.
 */
function reachable(schema: GraphQLSchema, pass: (coordinate: string, type: GraphQLNamedType) => boolean) {
  const query = schema.getQueryType()!;
  const seen = new Map<string, Reach>([[query.name, { type: query, via: [] }]]);
  const queue: Reach[] = [seen.get(query.name)!];
  const visit = (type: GraphQLNamedType, via: string[]) => {
    if (seen.has(type.name)) return;
    const reach = { type, via };
    seen.set(type.name, reach);
    queue.push(reach);
  };
  for (let next = queue.shift(); next; next = queue.shift()) {
    const { type, via } = next;
    if (isAbstractType(type)) {
      for (const member of schema.getPossibleTypes(type))
        if (pass(member.name, member)) visit(member, [...via, `… on ${member.name}`]);
    } else if (isObjectType(type)) {
      for (const field of Object.values(type.getFields())) {
        const coordinate = `${type.name}.${field.name}`;
        const target = getNamedType(field.type);
        if (!isObjectType(target) && !isAbstractType(target)) continue;
        if (pass(coordinate, target)) visit(target, [...via, coordinate]);
      }
    }
  }
  return seen;
}

/** Check 1: what a query reaches only through PRIVATE fields or types must be declared PRIVATE. */
function privacyViolations(schema: GraphQLSchema): { privateOnly: string[]; violations: string[] } {
  const privates = privateCoordinates(schema);
  const all = reachable(schema, () => true);
  const publicly = reachable(schema, (coordinate, type) => !privates.has(coordinate) && !privates.has(type.name));
  const privateOnly = [...all.values()].filter((r) => !publicly.has(r.type.name));
  const violations: string[] = [];
  for (const { type, via } of privateOnly) {
    if (isObjectType(type) && !privates.has(type.name))
      violations.push(
        `${type.name} is reached only through PRIVATE (${via.join(' → ')}) but is not declared @cacheControl(scope: PRIVATE)`,
      );
  }
  for (const { type, via } of publicly.values()) {
    if (!isAbstractType(type)) continue;
    for (const member of schema.getPossibleTypes(type))
      if (privates.has(member.name))
        violations.push(
          `${type.name} (${via.join(' → ')}) is public but may be the PRIVATE ${member.name}: the cache would not see \`... on ${member.name}\` as private`,
        );
  }
  return { privateOnly: privateOnly.map((r) => r.type.name).sort(), violations };
}

const isConnection = (type: GraphQLNamedType) =>
  isObjectType(type) && 'edges' in type.getFields() && 'pageInfo' in type.getFields();

/** Check 2: every list or connection field a query reaches has a tag rule or a reason not to. */
function untaggedLists(schema: GraphQLSchema, table: FieldTagTable, exempt: Record<string, string>): string[] {
  const problems: string[] = [];
  const lists = new Set<string>();
  for (const { type } of reachable(schema, () => true).values()) {
    if (!isObjectType(type)) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      if (!isListType(getNullableType(field.type)) && !isConnection(getNamedType(field.type))) continue;
      lists.add(coordinate);
      if (!table[coordinate] && !exempt[coordinate])
        problems.push(`${coordinate} is a list with no tag rule in src/invalidation/table.ts and no exemption`);
    }
  }
  for (const [coordinate, reason] of Object.entries(exempt)) {
    if (!lists.has(coordinate)) problems.push(`${coordinate} is exempt but is no list field a query reaches`);
    if (table[coordinate]) problems.push(`${coordinate} is exempt but has a tag rule: drop the exemption`);
    if (reason.trim().length < 20) problems.push(`${coordinate} is exempt without a reason`);
  }
  return problems;
}

const schemaOf = (typeDefs: string[]) => makeExecutableSchema({ typeDefs });

/** The SDL with `search` replaced (once, and it must be there). */
function sdlWith(search: string, replacement: string): string[] {
  const defs = loadTypeDefs();
  const index = defs.findIndex((d) => d.includes(search));
  expect(index, `the SDL has ${search}`).toBeGreaterThanOrEqual(0);
  return defs.map((d, i) => (i === index ? d.replace(search, replacement) : d));
}

describe('everything reached only through PRIVATE is declared PRIVATE', () => {
  it('holds for the schema', () => {
    const { privateOnly, violations } = privacyViolations(buildSchema());
    expect(violations).toEqual([]);
    // The rule sees what it should: me's tree and the admin's stats, not the catalogue under them.
    expect(privateOnly).toEqual(
      expect.arrayContaining([
        'User',
        'CollectionItemConnection',
        'CollectionItemEdge',
        'CollectionItem',
        'CacheStats',
      ]),
    );
    for (const publicType of ['Kit', 'Club', 'PageInfo', 'Query']) expect(privateOnly).not.toContain(publicType);
  });

  it('fails when User loses its @cacheControl(scope: PRIVATE)', () => {
    const schema = schemaOf(
      sdlWith('type User @cacheControl(maxAge: 60, scope: PRIVATE) {', 'type User @cacheControl(maxAge: 60) {'),
    );
    expect(privacyViolations(schema).violations).toEqual([expect.stringMatching(/^User is reached only through/)]);
  });

  it('fails when CollectionItem loses it, naming the path', () => {
    const schema = schemaOf(
      sdlWith('type CollectionItem @cacheControl(maxAge: 60, scope: PRIVATE)', 'type CollectionItem'),
    );
    expect(privacyViolations(schema).violations).toEqual([
      'CollectionItem is reached only through PRIVATE (Query.me → User.collection → CollectionItemConnection.edges → ' +
        'CollectionItemEdge.node) but is not declared @cacheControl(scope: PRIVATE)',
    ]);
  });

  it('fails for a new type under `me` added without the directive', () => {
    const schema = schemaOf([
      ...loadTypeDefs(),
      'extend type User { wishlist: Wishlist! } type Wishlist { id: ID! kits: [Kit!]! }',
    ]);
    expect(privacyViolations(schema).violations).toEqual([expect.stringMatching(/^Wishlist is reached only/)]);
  });

  it('fails when a public union may hold a PRIVATE type', () => {
    const schema = schemaOf([
      ...loadTypeDefs(),
      'union Anything = Kit | User extend type Query { anything: [Anything!]! }',
    ]);
    expect(privacyViolations(schema).violations).toEqual([
      expect.stringMatching(/^Anything .* may be the PRIVATE User/),
    ]);
  });
});

describe('every list a query reaches has a tag rule or a stated exemption', () => {
  it('holds for the schema and the table', () => {
    expect(untaggedLists(buildSchema(), fieldTags, EXEMPT)).toEqual([]);
  });

  it.each(['Club.kits', 'User.collection', 'Query.brands', 'Query.kits'])('fails without the %s row', (coordinate) => {
    const { [coordinate]: _dropped, ...rest } = fieldTags;
    expect(untaggedLists(buildSchema(), rest, EXEMPT)).toEqual([
      `${coordinate} is a list with no tag rule in src/invalidation/table.ts and no exemption`,
    ]);
  });

  it('fails for a new list or connection field without a row', () => {
    const schema = schemaOf([
      ...loadTypeDefs(),
      'extend type Club { rivals: [Club!]! } extend type Brand { clubs(first: Int): ClubConnection! }',
    ]);
    expect(untaggedLists(schema, fieldTags, EXEMPT).sort()).toEqual([
      'Brand.clubs is a list with no tag rule in src/invalidation/table.ts and no exemption',
      'Club.rivals is a list with no tag rule in src/invalidation/table.ts and no exemption',
    ]);
  });

  it('fails for a stale or unexplained exemption', () => {
    expect(
      untaggedLists(buildSchema(), fieldTags, {
        ...EXEMPT,
        'Kit.name': 'not a list at all, so nothing to exempt',
        'Club.kits': 'x',
      }),
    ).toEqual([
      'Kit.name is exempt but is no list field a query reaches',
      'Club.kits is exempt but has a tag rule: drop the exemption',
      'Club.kits is exempt without a reason',
    ]);
  });
});
