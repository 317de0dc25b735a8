/**
 * What every answer to a hostile request must look like: no 5xx, a body that is JSON (or GraphiQL,
 * an event stream, a multipart stream, or nothing where HTTP allows it), every error with a string
 * `extensions.code` from the documented set, no internal error for a client's mistake, and no stack
 * frame, SQL or driver name anywhere in it.
 */
import { GRAPHIQL_OPTIONS } from '../../src/app.js';
import { graphiqlRenderer } from '../../src/http/graphiql.js';

/** The only HTML the API may answer: its GraphiQL page. */
const GRAPHIQL_PAGE = await graphiqlRenderer()(GRAPHIQL_OPTIONS);

/** The codes README documents, and those yoga itself answers for requests it refuses outright. */
export const DOCUMENTED_CODES = [
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'RATE_LIMITED',
  'DATABASE_UNAVAILABLE',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  // The query limits (graphql-armor), one code each.
  'QUERY_TOO_DEEP',
  'TOO_MANY_ALIASES',
  'TOO_MANY_DIRECTIVES',
  'TOO_MANY_TOKENS',
  'QUERY_TOO_COMPLEX',
  'INTERNAL_SERVER_ERROR',
] as const;
export const YOGA_CODES = [
  // Unreadable HTTP requests: bad JSON, wrong param types, batching, wrong method.
  'BAD_REQUEST',
  // Several operations and no (or an unknown) operationName.
  'OPERATION_RESOLUTION_FAILURE',
] as const;
/** README, Persisted operations. */
export const PERSISTED_CODES = [
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'PERSISTED_QUERY_HASH_MISMATCH',
  'PERSISTED_QUERY_VERSION_NOT_SUPPORTED',
  'PERSISTED_QUERY_INVALID',
  'UNTRUSTED_DOCUMENT',
] as const;
export const ALLOWED_CODES: ReadonlySet<string> = new Set<string>([
  ...DOCUMENTED_CODES,
  ...YOGA_CODES,
  ...PERSISTED_CODES,
]);

/** Text that must never reach a client. Generated input never contains these words (see hostile-requests.ts). */
export const LEAKS: readonly { what: string; pattern: RegExp }[] = [
  {
    what: 'a stack frame',
    pattern: /\bat .*\(.*:\d+:\d+\)|\n\s+at \S+ \(|node_modules|file:\/\/\/|\.[cm]?[jt]s:\d+:\d+/,
  },
  { what: 'a stack property', pattern: /"stack"\s*:/ },
  {
    what: 'SQL text',
    pattern:
      /select .* from|insert into|delete from|update \S+ set|syntax error at or near|violates .* constraint|relation "|invalid byte sequence|invalid input syntax/i,
  },
  { what: 'a driver or ORM name', pattern: /postgres|drizzle|pglite|ioredis/i },
];

type GqlError = { message?: unknown; extensions?: { code?: unknown } };
type GqlResult = { data?: unknown; errors?: GqlError[]; extensions?: unknown };

export type Verdict = {
  problems: string[];
  /** Error codes seen, for the tallies. */
  codes: string[];
};

/** The JSON results in a body, by its content type; a string is a problem with the body. */
function resultsOf(contentType: string, text: string): unknown[] | string {
  const parse = (s: string): unknown => JSON.parse(s);
  try {
    if (/^application\/(graphql-response\+)?json/i.test(contentType)) return [parse(text)];
    if (/^text\/event-stream/i.test(contentType)) {
      return text
        .split('\n')
        .filter((line) => line.startsWith('data:') && line.slice(5).trim().startsWith('{'))
        .map((line) => parse(line.slice(5).trim()));
    }
    if (/^multipart\/mixed/i.test(contentType)) {
      return text
        .split(/\r?\n/)
        .filter((line) => line.startsWith('{'))
        .map(parse);
    }
  } catch (error) {
    return `the body is not the JSON its content type says (${(error as Error).message})`;
  }
  return `an unexpected content type ${JSON.stringify(contentType)}`;
}

export function judge(
  request: { method: string; headers: Record<string, string> },
  status: number,
  contentType: string | null,
  text: string,
): Verdict {
  const problems: string[] = [];
  const codes: string[] = [];
  if (status >= 500) problems.push(`status ${status}`);
  if (contentType && /^text\/html/i.test(contentType)) {
    // GraphiQL's page is one fixed document that echoes nothing of the request; it inlines
    // GraphiQL's bundle, whose code the leak patterns would flag, so it is compared whole instead.
    if (!/text\/html/i.test(request.headers.accept ?? '') || text !== GRAPHIQL_PAGE)
      problems.push('HTML that is not GraphiQL, or not asked for');
    return { problems, codes };
  }
  for (const { what, pattern } of LEAKS) {
    const m = pattern.exec(text);
    if (m) problems.push(`${what} in the body: ${JSON.stringify(text.slice(Math.max(0, m.index - 60), m.index + 80))}`);
  }
  if (text === '') {
    // Empty bodies: 304, HEAD, and refusals of the HTTP request itself (405, 406, 415, OPTIONS).
    if (status === 200 && request.method !== 'HEAD') problems.push('a 200 with an empty body');
    return { problems, codes };
  }
  const results = resultsOf(contentType ?? '', text);
  if (typeof results === 'string') {
    problems.push(results);
    return { problems, codes };
  }
  if (!results.length) problems.push('a stream without a result');
  for (const result of results) {
    if (!result || typeof result !== 'object' || Array.isArray(result)) {
      problems.push('a result that is not an object');
      continue;
    }
    const r = result as GqlResult;
    if (r.errors === undefined) {
      if (status >= 400) problems.push(`status ${status} without errors`);
      if (r.data === undefined) problems.push('a result with neither data nor errors');
      continue;
    }
    if (!Array.isArray(r.errors) || !r.errors.length) {
      problems.push('errors that are not a non-empty list');
      continue;
    }
    for (const error of r.errors) {
      const code = error?.extensions?.code;
      if (typeof error?.message !== 'string') problems.push('an error without a message');
      if (typeof code !== 'string') {
        problems.push(`an error without a string extensions.code: ${JSON.stringify(error).slice(0, 200)}`);
        continue;
      }
      codes.push(code);
      if (!ALLOWED_CODES.has(code))
        problems.push(`an undocumented code ${code}: ${JSON.stringify(error).slice(0, 200)}`);
      // Every request here is a client's (or a valid one): nothing may fail inside the server.
      if (code === 'INTERNAL_SERVER_ERROR')
        problems.push(`INTERNAL_SERVER_ERROR for a client's request: ${JSON.stringify(error).slice(0, 200)}`);
    }
  }
  return { problems, codes };
}
