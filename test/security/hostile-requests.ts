/**
 * Hostile HTTP requests for the GraphQL endpoint, generated from a seeded PRNG: documents built by a
 * grammar over the real schema (random fields, arguments, aliases, fragments, variables, directives,
 * deep nesting, alias floods, huge argument lists, values of the wrong type), real operations
 * mutated (byte flips, truncation, stray braces, unicode, NUL, very long strings, out-of-range
 * numbers, negative `first`, bogus cursors and ids), malformed variables and bodies, wrong content
 * types and methods, oversized bodies, odd headers and batched arrays.
 *
 * Generated strings never contain the words the tests look for in answers (stack frames, SQL,
 * "postgres", "drizzle"), so finding one of them in an answer is never an echo of the input.
 */
import {
  getNamedType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isUnionType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLUnionType,
} from 'graphql';
import type { Rng } from './prng.js';

export type HostileRequest = {
  /** Which generator made it (for the tallies and failure messages). */
  kind: string;
  method: string;
  /** Path and query string. */
  url: string;
  headers: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
};

export type Credentials = {
  /** Valid bearer tokens (the fuzz may log some of them out: that is fair game). */
  admin: readonly string[];
  user: readonly string[];
};

type Params = { query?: unknown; variables?: unknown; operationName?: unknown; extensions?: unknown };

/** Real operations, as clients send them: the seeds of the mutation operators. */
export const REAL_OPERATIONS: readonly { query: string; variables?: Record<string, unknown> }[] = [
  { query: '{ brands { id name } }' },
  { query: '{ seasons { id label startYear } }' },
  { query: '{ competitions { id name country } }' },
  {
    query:
      'query LatestKits { kits(first: 5) { totalCount edges { cursor node { id name type primaryColour club { id name country } season { label } brand { name } competitions { name } } } pageInfo { hasNextPage endCursor } } }',
  },
  { query: '{ kits(type: HOME, first: 20) { edges { node { id name club { name } } } } }' },
  {
    query:
      'query($after: String) { clubs(first: 3, after: $after) { totalCount edges { cursor node { id name } } pageInfo { endCursor } } }',
    variables: { after: null },
  },
  {
    query:
      'query($id: ID!) { club(id: $id) { id name country seasons { id label } kits(first: 20) { totalCount edges { node { id name type season { label } } } } } }',
    variables: { id: '1' },
  },
  { query: 'query($id: ID!) { kit(id: $id) { id name description createdAt brand { id } } }', variables: { id: '7' } },
  {
    query:
      '{ search(text: "united", first: 10) { __typename ... on Club { id name } ... on Kit { id name } ... on Brand { id } } }',
  },
  { query: 'query($t: String!) { search(text: $t, first: 5) { __typename } }', variables: { t: 'city' } },
  {
    query:
      '{ me { id username role collection(first: 50) { totalCount edges { cursor node { id note condition addedAt kit { id name } } } } } }',
  },
  { query: 'query Me { me { id collection(first: 2, after: "WzVd") { edges { node { id } } } } }' },
  { query: '{ cacheStats { id responseCache { hits misses } redis { reachable } } }' },
  {
    query: 'mutation($i: AddToCollectionInput!) { addToCollection(input: $i) { id condition kit { id } } }',
    variables: { i: { kitId: '5', condition: 'MINT', note: 'signed' } },
  },
  {
    query: 'mutation($i: UpdateCollectionItemInput!) { updateCollectionItem(input: $i) { id note } }',
    variables: { i: { id: '3', note: 'worn once' } },
  },
  { query: 'mutation { removeFromCollection(id: "2") }' },
  {
    query: 'mutation($i: CreateKitInput!) { createKit(input: $i) { id name } }',
    variables: {
      i: {
        clubId: '1',
        seasonId: '1',
        brandId: '1',
        type: 'HOME',
        name: 'Fuzz kit',
        primaryColour: 'red',
        secondaryColours: ['white'],
        competitionIds: ['1', '2'],
      },
    },
  },
  {
    query: 'mutation($i: UpdateKitInput!) { updateKit(input: $i) { id name } }',
    variables: { i: { id: '9', name: 'x' } },
  },
  {
    query: 'mutation($i: UpdateClubInput!) { updateClub(input: $i) { id slug founded } }',
    variables: { i: { id: '2', founded: 1899 } },
  },
  {
    query: 'mutation($i: CreateSeasonInput!) { createSeason(input: $i) { id } }',
    variables: { i: { label: '2031-32' } },
  },
  { query: 'mutation { createBrand(input: { name: "Fuzzwear" }) { id name } }' },
  { query: 'mutation($id: ID!) { deleteCompetition(id: $id) }', variables: { id: '8' } },
  { query: 'mutation { purgeCache(typename: "Kit", id: "3") }' },
  { query: 'mutation { login(username: "user1", password: "wrong") { token } }' },
  { query: 'mutation { logout }' },
];

/** Letters that cannot spell a forbidden word by accident (no "postgres", "select … from", "at (…)"). */
const SAFE = 'abcdkmuvwxyzABKMUVWXYZ0123456789 -_.,;:!?/|#%&*+=~^';
const WEIRD = [
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\u00ff',
  '\u200b',
  '\u200e',
  '\u202e',
  '\u2028',
  '\u2029',
  '\ufeff',
  '\ufffd',
  '\uffff',
  '\ud800',
  '\udfff',
  '😀',
  '𝔘',
  'ñ',
  'Ω',
  'あ',
  '\\',
  '"',
  "'",
  '`',
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  '$',
  '@',
  '!',
  '\n',
  '\r',
  '\t',
];

export function randomText(rng: Rng, max = 24): string {
  const n = rng.int(0, max);
  let s = '';
  for (let i = 0; i < n; i++) s += rng.chance(0.15) ? rng.pick(WEIRD) : SAFE[rng.int(0, SAFE.length - 1)]!;
  return s;
}

/** A string for a header value: latin-1 only, no NUL/CR/LF (the client refuses those). */
function headerText(rng: Rng, max = 40): string {
  const n = rng.int(0, max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const c = rng.chance(0.2) ? rng.int(0x80, 0xff) : rng.int(0x20, 0x7e);
    s += String.fromCharCode(c);
  }
  return s.trim();
}

const HUGE_NUMBERS = [
  '2147483647',
  '2147483648',
  '-2147483649',
  '9007199254740993',
  '99999999999999999999999',
  '1e308',
  '1e309',
  '-1e309',
  '0.5',
  '-0',
  '1e-400',
];

const BOGUS_IDS = [
  '0',
  '-1',
  '01',
  '1.0',
  '1e3',
  '0x1f',
  ' 1',
  '1 ',
  '２',
  '',
  'abc',
  '99999999999',
  '2147483648',
  '2147483647',
  '9'.repeat(40),
  "1' or '1'='1",
  '1;--',
  '$1',
  'NaN',
  'Infinity',
  'null',
  '[1]',
  '1\u0000',
];

function b64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}

function bogusCursor(rng: Rng): string {
  return rng.pick([
    () => b64url('[1]'),
    () => b64url('[-1]'),
    () => b64url('[0]'),
    () => b64url('["x"]'),
    () => b64url('[1,2,3]'),
    () => b64url('[1e400]'),
    () => b64url('[9007199254740993]'),
    () => b64url('{"id":1}'),
    () => b64url('null'),
    () => b64url('[]'),
    () => b64url('[1.5]'),
    () => b64url('["a",1]'),
    () => b64url('[' + '['.repeat(3000) + ']'.repeat(3000) + ']'),
    () => 'W10',
    () => 'not a cursor',
    () => '====',
    () => '',
    () => 'A'.repeat(rng.int(500, 5000)),
    () => b64url('[' + String(rng.int(-5, 100_000)) + ']'),
    () => randomText(rng, 30),
  ])();
}

const gqlString = (s: string) => JSON.stringify(s);

/** State of one generated document: its variable definitions and fragments. */
type DocState = {
  vars: { name: string; type: string; value: unknown; omitted: boolean }[];
  fragments: string[];
  maxDepth: number;
  /** Prefer composite fields, to reach the depth. */
  deep: boolean;
  /** Fields left to emit: keeps a document (and its generation) bounded whatever the dice say. */
  budget: number;
};

export function createHostileGenerator(schema: GraphQLSchema, creds: Credentials) {
  const queryType = schema.getQueryType()!;
  const mutationType = schema.getMutationType()!;
  const compositeTypes = Object.values(schema.getTypeMap()).filter(
    (t) => isCompositeType(t) && !t.name.startsWith('__'),
  ) as (GraphQLObjectType | GraphQLUnionType)[];

  // ---- values ---------------------------------------------------------------------------------

  /** A JSON value for a variable of `type`: usually right, sometimes wrong in every way there is. */
  function jsonValue(rng: Rng, type: GraphQLInputType, argName: string, depth = 0): unknown {
    if (rng.chance(0.07)) return wrongJson(rng);
    if (isNonNullType(type)) return jsonValue(rng, type.ofType, argName, depth);
    if (rng.chance(0.05)) return null;
    if (isListType(type)) {
      const n = depth === 0 && rng.chance(0.03) ? rng.int(500, 3000) : rng.int(0, 4);
      return Array.from({ length: n }, () => jsonValue(rng, type.ofType, argName, depth + 1));
    }
    if (isInputObjectType(type)) {
      const out: Record<string, unknown> = {};
      for (const field of Object.values(type.getFields())) {
        if (isNonNullType(field.type) ? rng.chance(0.93) : rng.chance(0.5))
          out[field.name] = jsonValue(rng, field.type, field.name, depth + 1);
      }
      if (rng.chance(0.05)) out[randomName(rng)] = wrongJson(rng);
      return out;
    }
    if (isEnumType(type)) {
      return rng.chance(0.85) ? rng.pick(type.getValues()).name : rng.pick(['home', 'NOPE', '', 'HOME ', 0, true]);
    }
    return scalarJson(rng, type.name, argName);
  }

  function scalarJson(rng: Rng, scalar: string, argName: string): unknown {
    if (argName === 'first')
      return rng.weighted([
        [6, rng.int(0, 120)],
        [2, -rng.int(1, 1000)],
        [1, 2147483648],
        [1, 1.5],
      ]);
    if (argName === 'after') return bogusCursor(rng);
    switch (scalar) {
      case 'ID':
        return rng.weighted<unknown>([
          [6, String(rng.int(1, 450))],
          [2, rng.int(1, 450)],
          [3, rng.pick(BOGUS_IDS)],
        ]);
      case 'Int':
        return rng.weighted<unknown>([
          [5, rng.int(-10, 3000)],
          [2, Number(rng.pick(HUGE_NUMBERS))],
          [1, '12'],
        ]);
      case 'Float':
        return rng.weighted<unknown>([
          [5, rng.next() * 1000],
          [1, Number.MAX_VALUE],
        ]);
      case 'Boolean':
        return rng.weighted<unknown>([
          [5, rng.chance(0.5)],
          [1, 'true'],
          [1, 1],
        ]);
      case 'DateTime':
        return rng.pick(['2024-01-01T00:00:00Z', 'yesterday', '', '2024-13-45', 0]);
      default:
        return rng.weighted<unknown>([
          [8, randomText(rng)],
          [1, 'x'.repeat(rng.int(1000, 100_000))],
          [1, rng.pick(['united', 'city', 'fc', '%', '_', '\\', "'", ''])],
        ]);
    }
  }

  function wrongJson(rng: Rng): unknown {
    return rng.pick<() => unknown>([
      () => ({ nested: { deeper: [1, 2, { x: 'y' }] } }),
      () => [1, 2, 3],
      () => 'a string',
      () => 12.75,
      () => -1,
      () => true,
      () => ({}),
      () => [],
      () => Object.fromEntries(Array.from({ length: rng.int(100, 2000) }, (_, i) => [`k${i}`, i])),
      () => deepJson(rng.int(50, 800)),
      () => JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}'),
    ])();
  }

  // ---- literals -------------------------------------------------------------------------------

  /** A GraphQL literal (or a variable) for an argument of `type`. */
  function literal(rng: Rng, type: GraphQLInputType, argName: string, doc: DocState, depth = 0): string {
    if (depth < 3 && rng.chance(0.1)) return variable(rng, type, argName, doc);
    if (rng.chance(0.05)) return wrongLiteral(rng);
    if (isNonNullType(type)) return literal(rng, type.ofType, argName, doc, depth);
    if (rng.chance(0.04)) return 'null';
    if (isListType(type)) {
      if (depth === 0 && rng.chance(0.03)) {
        const n = rng.int(200, 3000);
        return `[${Array.from({ length: n }, () => literal(rng, type.ofType, argName, doc, depth + 1)).join(', ')}]`;
      }
      // A single value where a list is expected is legal (input coercion); so is an empty list.
      if (rng.chance(0.2)) return literal(rng, type.ofType, argName, doc, depth + 1);
      const n = rng.int(0, 4);
      return `[${Array.from({ length: n }, () => literal(rng, type.ofType, argName, doc, depth + 1)).join(', ')}]`;
    }
    if (isInputObjectType(type)) {
      const parts: string[] = [];
      for (const field of Object.values(type.getFields())) {
        if (isNonNullType(field.type) ? rng.chance(0.93) : rng.chance(0.5))
          parts.push(`${field.name}: ${literal(rng, field.type, field.name, doc, depth + 1)}`);
      }
      if (rng.chance(0.05)) parts.push(`${randomName(rng)}: 1`);
      if (rng.chance(0.03) && parts[0]) parts.push(parts[0]);
      return `{ ${parts.join(', ')} }`;
    }
    if (isEnumType(type)) {
      return rng.chance(0.85)
        ? rng.pick(type.getValues()).name
        : rng.pick(['home', 'NOPE', '"HOME"', 'true', 'null', '_']);
    }
    const value = scalarJson(rng, type.name, argName);
    return jsonToLiteral(value);
  }

  function jsonToLiteral(value: unknown): string {
    if (typeof value === 'string') return gqlString(value);
    if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '1e999';
    if (typeof value === 'boolean' || value === null) return String(value);
    if (Array.isArray(value)) return `[${value.map(jsonToLiteral).join(' ')}]`;
    if (typeof value === 'object')
      return `{ ${Object.entries(value as object)
        .map(([k, v]) => `${/^[_A-Za-z][_0-9A-Za-z]*$/.test(k) ? k : 'k'}: ${jsonToLiteral(v)}`)
        .join(' ')} }`;
    return 'null';
  }

  function wrongLiteral(rng: Rng): string {
    return rng.pick([
      '"a string"',
      '12',
      '-3',
      '1.5',
      'true',
      'HOME',
      '[1, 2]',
      '{ a: 1 }',
      '$undeclared',
      rng.pick(HUGE_NUMBERS),
      '"""block\nstring"""',
      '"\\u0000"',
      '"\\uD800"',
      '"\\x41"',
    ]);
  }

  function variable(rng: Rng, type: GraphQLInputType, argName: string, doc: DocState): string {
    const name = `v${doc.vars.length}`;
    let declared = String(type);
    if (rng.chance(0.05)) declared = rng.pick(['Int', 'String!', 'Foo', '[ID!]!', 'KitType', 'Boolean', 'ID']);
    if (rng.chance(0.05) && !declared.endsWith('!')) declared += '!';
    doc.vars.push({ name, type: declared, value: jsonValue(rng, type, argName), omitted: rng.chance(0.06) });
    return `$${name}`;
  }

  function randomName(rng: Rng): string {
    return rng.pick(['bogus', 'x', 'password', '__proto__', 'constructor', 'kitz', 'ids', 'firstt', 'z9']);
  }

  // ---- selections -----------------------------------------------------------------------------

  function args(rng: Rng, field: GraphQLField<unknown, unknown>, doc: DocState): string {
    const parts: string[] = [];
    for (const arg of field.args) {
      if (isNonNullType(arg.type) ? rng.chance(0.95) : rng.chance(0.4))
        parts.push(`${arg.name}: ${literal(rng, arg.type, arg.name, doc)}`);
    }
    if (rng.chance(0.03)) {
      // A huge list of arguments (unknown ones, or the same one over and over).
      const n = rng.int(50, 600);
      const name = rng.chance(0.5) ? undefined : field.args[0]?.name;
      for (let i = 0; i < n; i++) parts.push(`${name ?? `a${i}`}: ${i}`);
    }
    if (rng.chance(0.02)) parts.push(`${randomName(rng)}: ${wrongLiteral(rng)}`);
    return parts.length ? `(${parts.join(', ')})` : '';
  }

  function directives(rng: Rng, doc: DocState): string {
    if (!rng.chance(0.06)) return '';
    return rng.pick([
      () => ` @include(if: ${rng.chance(0.5)})`,
      () => ` @skip(if: ${rng.chance(0.5)})`,
      () => ` @include(if: ${variable(rng, schema.getDirective('include')!.args[0]!.type, 'if', doc)})`,
      () => ' @skip',
      () => ' @bogus(x: 1)',
      () => ' @deprecated',
      () => ` @cacheControl(maxAge: 0, scope: PRIVATE)`,
      () => ' @include(if: true)'.repeat(rng.int(2, 40)),
    ])();
  }

  function selection(rng: Rng, type: GraphQLNamedType, depth: number, doc: DocState): string {
    if (isUnionType(type)) {
      const parts = rng.chance(0.5) ? ['__typename'] : [];
      for (const member of rng.some(type.getTypes(), 0.5)) {
        parts.push(`... on ${member.name} ${selection(rng, member, depth, doc)}`);
      }
      if (rng.chance(0.05)) parts.push(`... on Season { id }`);
      if (!parts.length) parts.push('__typename');
      return `{ ${parts.join(' ')} }`;
    }
    if (!isObjectType(type)) return '{ id }';
    const fields = Object.values(type.getFields());
    const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)));
    const composite = fields.filter((f) => !isLeafType(getNamedType(f.type)));
    const atBottom = depth >= doc.maxDepth || doc.budget <= 0;
    const parts: string[] = [];

    const fieldText = (field: GraphQLField<unknown, unknown>, alias: string | null) => {
      doc.budget -= 1;
      const named = getNamedType(field.type);
      let sub = '';
      if (isCompositeType(named)) {
        if (!rng.chance(0.02)) sub = ` ${selection(rng, named, depth + 1, doc)}`;
      } else if (rng.chance(0.01)) sub = ' { id }';
      return `${alias ? `${alias}: ` : ''}${field.name}${args(rng, field, doc)}${directives(rng, doc)}${sub}`;
    };

    if (!atBottom && rng.chance(0.03)) {
      // An alias flood: the same field many times over.
      const field = rng.pick(composite.length ? composite : leaves);
      const n = rng.int(10, 80);
      for (let i = 0; i < n; i++) parts.push(fieldText(field, `a${i}`));
    } else {
      const n = rng.weighted([
        [5, 1],
        [4, 2],
        [2, 3],
        [1, rng.int(4, 8)],
      ]);
      for (let i = 0; i < n; i++) {
        if (rng.chance(0.02)) {
          parts.push(randomName(rng));
          continue;
        }
        const pool = atBottom || !composite.length ? leaves : doc.deep && i === 0 ? composite : fields;
        const field = rng.pick(pool.length ? pool : fields);
        const alias = rng.chance(0.12)
          ? rng.pick([`a${i}`, `x${rng.int(0, 9)}`, field.name, '__typename', '_', 'id'])
          : null;
        parts.push(fieldText(field, alias));
      }
    }
    if (rng.chance(0.1)) parts.push('__typename');
    if (!atBottom && rng.chance(0.05)) parts.push(`... on ${type.name} ${selection(rng, type, depth + 1, doc)}`);
    if (!atBottom && rng.chance(0.05)) {
      const name = `F${doc.fragments.length}`;
      const on = rng.chance(0.9) ? type.name : rng.pick(compositeTypes).name;
      doc.fragments.push(''); // reserve the name before recursing
      const body = selection(rng, type, depth + 1, doc);
      const cyclic = rng.chance(0.1) ? ` ...${name}` : '';
      doc.fragments[Number(name.slice(1))] =
        `fragment ${name} on ${on} ${cyclic ? body.replace(/ }$/, `${cyclic} }`) : body}`;
      parts.push(`...${name}`);
    }
    if (rng.chance(0.005)) parts.push('...Undefined');
    return `{ ${parts.join(' ')} }`;
  }

  /** A whole document from the grammar, with its variables. */
  function grammarOperation(rng: Rng): Params {
    const doc: DocState = {
      vars: [],
      fragments: [],
      maxDepth: rng.weighted([
        [60, rng.int(1, 4)],
        [25, rng.int(5, 8)],
        [10, rng.int(9, 14)],
        [5, rng.int(15, 40)],
      ]),
      deep: rng.chance(0.3),
      budget: rng.weighted([
        [8, 60],
        [2, 400],
      ]),
    };
    const kind = rng.weighted([
      [80, 'query'],
      [18, 'mutation'],
      [2, 'subscription'],
    ] as const);
    const root = kind === 'mutation' ? mutationType : queryType;
    let body: string;
    if (kind === 'mutation' && rng.chance(0.9)) {
      // One or two mutation fields, with the payload's selection.
      const picks = rng.some(Object.values(mutationType.getFields()), 0.06);
      if (!picks.length) picks.push(rng.pick(Object.values(mutationType.getFields())));
      body = `{ ${picks
        .slice(0, 3)
        .map((field) => {
          const named = getNamedType(field.type);
          const sub = isCompositeType(named) ? ` ${selection(rng, named, 2, doc)}` : '';
          return `${field.name}${args(rng, field, doc)}${sub}`;
        })
        .join(' ')} }`;
    } else body = selection(rng, root, 1, doc);
    const name = rng.chance(0.5) ? rng.pick(['Op', 'Fuzz', 'LatestKits', 'Me', '_', 'query']) : '';
    const used = doc.vars;
    const defs = used.length ? `(${used.map((v) => `$${v.name}: ${v.type}`).join(', ')})` : '';
    const extraDef = rng.chance(0.02) ? '($unused: Int, $unused: Int)' : '';
    const head = kind === 'query' && !name && !defs && rng.chance(0.5) ? '' : `${kind} ${name}${defs || extraDef}`;
    let query = `${head} ${body}`.trim();
    if (doc.fragments.length) query += ` ${doc.fragments.join(' ')}`;
    if (rng.chance(0.03)) query += ' query Second { brands { id } }';
    const variables: Record<string, unknown> = {};
    for (const v of used) if (!v.omitted) variables[v.name] = v.value;
    if (rng.chance(0.03)) variables.extra = 'unexpected';
    return {
      query,
      ...(used.length || rng.chance(0.1) ? { variables } : {}),
      ...(rng.chance(0.1) ? { operationName: rng.pick([name || 'Op', 'Second', 'Missing', '']) } : {}),
    };
  }

  // ---- mutations of real operations -----------------------------------------------------------

  function mutate(rng: Rng, text: string): string {
    const at = () => rng.int(0, text.length);
    const op = rng.pick<() => string>([
      () => {
        // byte flips
        let s = text;
        for (let i = rng.int(1, 4); i > 0; i--) {
          const p = rng.int(0, Math.max(0, s.length - 1));
          const c = rng.pick([
            '{',
            '}',
            '(',
            ')',
            '[',
            ']',
            ':',
            '$',
            '@',
            '!',
            '"',
            '\\',
            '.',
            '#',
            ' ',
            'z',
            '1',
            '=',
          ]);
          s = s.slice(0, p) + c + s.slice(p + 1);
        }
        return s;
      },
      () => text.slice(0, at()),
      () => {
        const p = at();
        return text.slice(0, p) + rng.pick(['{', '}']).repeat(rng.int(1, 300)) + text.slice(p);
      },
      () => {
        const p = at();
        return text.slice(0, p) + rng.pick(WEIRD) + randomText(rng, 6) + text.slice(p);
      },
      () => {
        const p = at();
        return text.slice(0, p) + '\u0000' + text.slice(p);
      },
      () => text.replace(/"[^"]*"/, () => gqlString('y'.repeat(rng.int(5_000, 200_000)))),
      () => text.replace(/\b\d+\b/, () => rng.pick(HUGE_NUMBERS)),
      () => text.replace(/first: (\d+)/, (_, n: string) => `first: -${n}`),
      () => text.replace(/first: (\d+)/, () => `first: ${rng.pick(HUGE_NUMBERS)}`),
      () => text.replace(/(kits|collection|clubs)\(/, (m) => `${m}after: ${gqlString(bogusCursor(rng))}, `),
      () =>
        text.replace(
          /(kit|club|brand|season|competition)\(id: \$?\w+/,
          (_, f: string) => `${f}(id: ${gqlString(rng.pick(BOGUS_IDS))}`,
        ),
      () => text.replace(/id: "(\d+)"/, () => `id: ${gqlString(rng.pick(BOGUS_IDS))}`),
      () => text + text,
      () => text.replace(/\{/g, () => (rng.chance(0.3) ? '{{' : '{')),
      () => text.split('').reverse().join(''),
      () => text.replace(/\s+/g, ''),
      () => text.replace(/ /g, () => rng.pick([' ', '\t', '\n', ',', '\ufeff', '\u00a0', '\u2028'])),
    ]);
    return op();
  }

  function mutateVariables(rng: Rng, vars: Record<string, unknown> | undefined): unknown {
    if (!vars || rng.chance(0.3)) return rng.chance(0.5) ? vars : wrongJson(rng);
    const out: Record<string, unknown> = structuredClone(vars);
    for (const key of Object.keys(out)) {
      if (!rng.chance(0.6)) continue;
      out[key] = rng.pick<() => unknown>([
        () => rng.pick(BOGUS_IDS),
        () => bogusCursor(rng),
        () => wrongJson(rng),
        () => null,
        () => Number(rng.pick(HUGE_NUMBERS)),
        () => (typeof out[key] === 'object' && out[key] ? mutateObject(rng, out[key] as Record<string, unknown>) : 1),
      ])();
    }
    return out;
  }

  function mutateObject(rng: Rng, o: Record<string, unknown>): Record<string, unknown> {
    const out = { ...o };
    for (const key of Object.keys(out)) {
      if (rng.chance(0.4)) out[key] = scalarJson(rng, rng.pick(['ID', 'Int', 'String', 'Boolean']), key);
    }
    if (rng.chance(0.2)) delete out[rng.pick(Object.keys(out).concat('none'))];
    return out;
  }

  // ---- transport ------------------------------------------------------------------------------

  function headers(rng: Rng, base: Record<string, string>): Record<string, string> {
    const h: Record<string, string> = { ...base };
    const auth = rng.weighted<string | null>([
      [40, null],
      [20, `Bearer ${rng.pick(creds.user)}`],
      [8, `Bearer ${rng.pick(creds.admin)}`],
      [3, `bearer   ${rng.pick(creds.user)}  `],
      [3, 'Bearer'],
      [3, 'Bearer '],
      [3, `Bearer ${headerText(rng, 60)}`],
      [2, `Bearer ${'A'.repeat(rng.int(10, 200))}`],
      [2, `Bearer ${'A'.repeat(rng.int(201, 9000))}`],
      [2, `Bearer ${rng.pick(creds.user)} ${rng.pick(creds.admin)}`],
      [2, `Basic ${Buffer.from('admin:kitvault').toString('base64')}`],
      [2, headerText(rng, 80)],
      [1, ''],
    ]);
    if (auth !== null) h.authorization = auth;
    const accept = rng.weighted<string | null>([
      [30, 'application/json'],
      [20, null],
      [15, 'application/graphql-response+json, application/json'],
      [5, 'application/graphql-response+json'],
      [5, '*/*'],
      [3, 'text/html'],
      [3, 'text/event-stream'],
      [3, 'multipart/mixed'],
      [2, 'application/xml'],
      [2, 'application/json;q=0, text/plain'],
      [2, 'application/*'],
      [2, headerText(rng, 60)],
    ]);
    if (accept !== null) h.accept = accept;
    if (rng.chance(0.15)) {
      h['if-none-match'] = rng.pick([
        () => '*',
        () => '"abc"',
        () => 'W/"x"',
        () => headerText(rng, 100),
        () => Array.from({ length: rng.int(50, 2000) }, (_, i) => `"${i.toString(16)}"`).join(', '),
        () => `"${'f'.repeat(rng.int(64, 20_000))}"`,
        () => 'kv:{rc:1}:e:deadbeef',
      ])();
    }
    if (rng.chance(0.05)) h.origin = rng.pick(['https://evil.example', 'null', headerText(rng, 40)]);
    if (rng.chance(0.05)) h['x-request-id'] = rng.pick([headerText(rng, 80), 'x'.repeat(5000), '../../etc']);
    if (rng.chance(0.02)) h['content-encoding'] = rng.pick(['gzip', 'br', 'bogus']);
    return h;
  }

  /** A GraphQL request's params over GET or POST, with the content type sometimes wrong. */
  function transport(rng: Rng, kind: string, params: Params): HostileRequest {
    const method = rng.weighted([
      [40, 'GET'],
      [56, 'POST'],
      [4, rng.pick(['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'])],
    ]);
    if (method === 'GET' || method === 'HEAD' || method === 'DELETE') {
      const search = new URLSearchParams();
      const str = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'));
      if (params.query !== undefined) search.set('query', str(params.query));
      if (params.variables !== undefined)
        search.set('variables', rng.chance(0.1) ? randomText(rng, 20) : str(params.variables));
      if (params.operationName !== undefined) search.set('operationName', str(params.operationName));
      if (params.extensions !== undefined) search.set('extensions', str(params.extensions));
      if (rng.chance(0.03)) search.append('query', '{ brands { id } }');
      let qs = search.toString();
      if (rng.chance(0.03)) qs += rng.pick(['&%E0%A4%A', '&query=%', '&=', '&&&', '&variables=%7B', '#frag']);
      return { kind, method, url: `/graphql?${qs}`, headers: headers(rng, {}) };
    }
    const contentType = rng.weighted<string | null>([
      [80, 'application/json'],
      [5, 'application/json; charset=utf-8'],
      [3, 'application/graphql'],
      [2, 'text/plain'],
      [2, 'application/x-www-form-urlencoded'],
      [2, 'multipart/form-data; boundary=xyz'],
      [2, null],
      [1, 'APPLICATION/JSON'],
      [1, 'application/json; charset=utf-16'],
      [1, 'application/graphql-response+json'],
      [1, headerText(rng, 30)],
    ]);
    let body: string | Uint8Array;
    if (contentType === 'application/graphql') body = typeof params.query === 'string' ? params.query : '';
    else if (contentType === 'application/x-www-form-urlencoded')
      body = new URLSearchParams(
        Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')]),
      ).toString();
    else if (contentType?.startsWith('multipart/'))
      body = rng.chance(0.5)
        ? `--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${JSON.stringify(params)}\r\n--xyz\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.file"]}\r\n--xyz\r\nContent-Disposition: form-data; name="0"; filename="a.txt"\r\n\r\nhello\r\n--xyz--\r\n`
        : `--xyz\r\n${randomText(rng, 100)}`;
    else body = JSON.stringify(params);
    return {
      kind,
      method,
      url: rng.chance(0.02) ? rng.pick(['/graphql/', '/GRAPHQL', '/graphql?x=1', '/graphql;a=b']) : '/graphql',
      headers: headers(rng, contentType === null ? {} : { 'content-type': contentType }),
      body,
    };
  }

  function malformedBody(rng: Rng): HostileRequest {
    const good = JSON.stringify({ query: '{ brands { id } }' });
    const body = rng.pick<() => string | Uint8Array<ArrayBuffer>>([
      () => good.slice(0, rng.int(0, good.length - 1)),
      () => good + rng.pick(['x', '}', ',', ' {}', '\u0000']),
      () => '\ufeff' + good,
      () => '',
      () => 'null',
      () => 'true',
      () => '1',
      () => '"{ brands { id } }"',
      () => '{}',
      () => '{"query": "{ brands { id } }", "query": 5}',
      () => '{"query": "{ brands { id } }", "variables": "{\\"a\\": 1}"}',
      () => '{"query": "{ brands { id } }", "variables": "not json"}',
      () => '{"query": "{ brands { id } }", "operationName": 5}',
      () => '{"query": "{ brands { id } }", "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "00"}}}',
      () => '{"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "abc"}}}',
      () => `{"query": ${JSON.stringify('{ brands { id } }')}, "variables": ${deepText(rng.int(1000, 20_000))}}`,
      () => deepText(rng.int(1000, 50_000)),
      () => new Uint8Array([0x7b, 0x22, 0x71, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]),
      () => new Uint8Array(Array.from({ length: rng.int(1, 200) }, () => rng.int(0, 255))),
      () => '{"query": "{ brands { id } }"' + ', "a": 1'.repeat(rng.int(100, 5000)) + '}',
      () => '{"query":"{ brands { id } }","variables":{"__proto__":{"admin":true}}}',
    ]);
    return {
      kind: 'malformed-body',
      method: 'POST',
      url: '/graphql',
      headers: headers(rng, { 'content-type': 'application/json' }),
      body: body(),
    };
  }

  function oversized(rng: Rng): HostileRequest {
    const size = rng.int(1024 * 1024 + 1, 1024 * 1024 + 300_000);
    const query = rng.pick([
      () => `{ brands { id } } #${'x'.repeat(size)}`,
      () => `{ search(text: ${gqlString('u'.repeat(size))}) { __typename } }`,
      () => `{ ${'brands { id } '.repeat(Math.ceil(size / 14))}}`,
    ])();
    if (rng.chance(0.3)) {
      return {
        kind: 'oversized-get',
        method: 'GET',
        url: `/graphql?query=${encodeURIComponent(query.slice(0, rng.int(8_000, 200_000)))}`,
        headers: headers(rng, {}),
      };
    }
    return {
      kind: 'oversized',
      method: 'POST',
      url: '/graphql',
      headers: headers(rng, { 'content-type': 'application/json' }),
      body: JSON.stringify({ query, variables: rng.chance(0.3) ? { s: 'v'.repeat(size) } : {} }),
    };
  }

  function batch(rng: Rng): HostileRequest {
    const ops = () =>
      Array.from(
        {
          length: rng.weighted([
            [5, rng.int(2, 5)],
            [1, rng.int(50, 1000)],
            [1, 0],
          ]),
        },
        () => (rng.chance(0.8) ? { query: rng.pick(REAL_OPERATIONS).query } : rng.pick([null, 1, 'x', [], {}])),
      );
    return transport(rng, 'batch', ops() as unknown as Params);
  }

  function paramShapes(rng: Rng): Params {
    const op = rng.pick(REAL_OPERATIONS);
    return rng.pick<() => Params>([
      () => ({ query: op.query, variables: mutateVariables(rng, op.variables) }),
      () => ({ query: op.query, variables: JSON.stringify(op.variables ?? {}) }),
      () => ({ query: op.query, variables: [op.variables] }),
      () => ({ query: op.query, variables: 42 }),
      () => ({ query: op.query, variables: deepJson(rng.int(100, 1000)) }),
      () => ({ query: op.query, extensions: rng.pick([null, 'x', [], { a: deepJson(200) }, { persistedQuery: 1 }]) }),
      () => ({ query: op.query, operationName: rng.pick([5, [], {}, null, '', 'Nope', 'x'.repeat(10_000)]) }),
      () => ({ query: rng.pick([null, 5, [], {}, true, '', ' ', '#', '{', '{}', 'query', 'query {}']) }),
      () => ({ variables: op.variables ?? {} }),
    ])();
  }

  return function hostile(rng: Rng): HostileRequest {
    const kind = rng.weighted([
      [40, 'grammar'],
      [25, 'mutated'],
      [10, 'params'],
      [10, 'malformed-body'],
      [1.5, 'oversized'],
      [4, 'batch'],
      [9.5, 'real'],
    ] as const);
    switch (kind) {
      case 'grammar':
        return transport(rng, kind, grammarOperation(rng));
      case 'mutated': {
        const op = rng.pick(REAL_OPERATIONS);
        return transport(rng, kind, {
          query: mutate(rng, op.query),
          ...(op.variables ? { variables: rng.chance(0.5) ? op.variables : mutateVariables(rng, op.variables) } : {}),
        });
      }
      case 'params':
        return transport(rng, kind, paramShapes(rng));
      case 'malformed-body':
        return malformedBody(rng);
      case 'oversized':
        return oversized(rng);
      case 'batch':
        return batch(rng);
      case 'real': {
        // Well-formed operations with odd headers: these fill the cache, so later ones hit it.
        const op = rng.pick(REAL_OPERATIONS);
        return transport(rng, kind, { query: op.query, ...(op.variables ? { variables: op.variables } : {}) });
      }
    }
  };
}

/**
 * `{"a":{"a":…}}` nested `depth` levels, as a value. Values are JSON.stringify'd again on the way
 * out, which recurses: keep them to ~1000 levels; deeper nesting is sent as text (malformedBody).
 */
function deepJson(depth: number): unknown {
  return JSON.parse(deepText(depth));
}

function deepText(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** One line naming a request, for failure messages (bodies and long values cut). */
export function describeRequest(req: HostileRequest): string {
  const cut = (s: string, n = 300) => (s.length > n ? `${s.slice(0, n)}…(${s.length} chars)` : s);
  const body =
    req.body === undefined
      ? ''
      : typeof req.body === 'string'
        ? ` body=${JSON.stringify(cut(req.body))}`
        : ` body=<${req.body.length} bytes>`;
  const headers = Object.entries(req.headers)
    .map(([k, v]) => `${k}: ${JSON.stringify(cut(v, 80))}`)
    .join('; ');
  return `[${req.kind}] ${req.method} ${cut(req.url, 300)} {${headers}}${body}`;
}
