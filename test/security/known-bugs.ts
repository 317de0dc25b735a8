/**
 * Bugs the hostile-input fuzz found that are not fixed yet (reported; src/ belongs to others).
 * Each has a minimal reproduction in known-bugs.test.ts, asserting the right behaviour and marked
 * `it.fails` so it turns red the day the bug is fixed (then flip it to `it` and drop the entry here).
 *
 * The fuzz lets a bad answer through only when it matches one of these exactly: the request has the
 * bug's shape, every problem with the answer is the bug's symptom, and every internal error the
 * server logged during the run has the bug's cause. Anything else still fails the fuzz.
 */
import type { HostileRequest } from './hostile-requests.js';

export type KnownBug = {
  id: string;
  title: string;
  /** The request has the shape that triggers the bug. */
  shape(req: HostileRequest): boolean;
  /** A problem the judge reported is this bug's symptom. */
  symptom(problem: string): boolean;
  /** An error the server logged is this bug's cause. */
  cause(error: unknown): boolean;
};

/** An error's message and its causes' (drizzle wraps the driver's error). */
function messages(error: unknown): string[] {
  const out: string[] = [];
  for (let e = error, i = 0; e && i < 5; e = (e as { cause?: unknown }).cause, i++)
    out.push(String((e as Error).message));
  return out;
}

const internal = (problem: string) => problem.startsWith('INTERNAL_SERVER_ERROR for a client');
const stackOf = (error: unknown) => (error instanceof Error ? (error.stack ?? '') : '');

/** The `variables`/`extensions` strings yoga reads: GET's query string, or a urlencoded POST body. */
function urlParams(req: HostileRequest): URLSearchParams | null {
  // As yoga reads them: everything after the first '?', a '#fragment' included (a fetch Request
  // keeps it; over HTTP no client sends one), so a fragment spoils the last parameter's JSON.
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'DELETE')
    return new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
  const type = req.headers['content-type'] ?? '';
  if (req.method === 'POST' && /^application\/x-www-form-urlencoded/.test(type) && typeof req.body === 'string')
    return new URLSearchParams(req.body);
  return null;
}

const notJson = (text: string | null) => {
  if (!text) return false; // yoga ignores an empty value
  try {
    JSON.parse(text);
    return false;
  } catch {
    return true;
  }
};

/** The deepest bracket nesting in a text (strings ignored roughly: good enough for generated JSON). */
function nesting(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) max = Math.max(max, ++depth);
    else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

const requestText = (req: HostileRequest) =>
  decodeURIComponentSafe(req.url) +
  (typeof req.body === 'string' ? req.body : req.body ? Buffer.from(req.body).toString('latin1') : '');

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

export const KNOWN_BUGS: readonly KnownBug[] = [
  {
    id: 'get-params-not-json',
    title:
      'GET (or urlencoded POST) whose `variables` or `extensions` is not JSON answers 200 INTERNAL_SERVER_ERROR ' +
      '(yoga JSON.parses them bare; mask-error masks the SyntaxError) instead of 400 BAD_REQUEST, and logs it as an internal error',
    shape: (req) => {
      const params = urlParams(req);
      return !!params && (notJson(params.get('variables')) || notJson(params.get('extensions')));
    },
    symptom: internal,
    cause: (error) => error instanceof SyntaxError && /request-parser/.test(stackOf(error)),
  },
  {
    id: 'deep-variables',
    title:
      'variables nested a few thousand levels deep overflow the stack in the response cache key (fast-json-stable-stringify): ' +
      'INTERNAL_SERVER_ERROR, and on a document the lean hit knows the front door itself throws (node listener: HTTP 500)',
    shape: (req) => nesting(requestText(req)) >= 2000,
    symptom: (problem) =>
      internal(problem) ||
      problem === 'status 500' ||
      problem.startsWith('the front door failed: RangeError: Maximum call stack size exceeded'),
    cause: (error) => error instanceof RangeError && /Maximum call stack size exceeded/.test(error.message),
  },
  {
    id: 'nul-in-sql-string',
    title:
      'a NUL character (U+0000) in a string argument that reaches SQL (search, clubs(search/country), login, create/update names…) ' +
      'answers INTERNAL_SERVER_ERROR (Postgres: invalid byte sequence 0x00) instead of BAD_USER_INPUT',
    shape: (req) => {
      const text = requestText(req);
      return text.includes('\\u0000') || text.includes('\u0000');
    },
    symptom: (problem) => internal(problem) && /"path":/.test(problem),
    cause: (error) => messages(error).some((m) => /invalid byte sequence for encoding "UTF8": 0x00/.test(m)),
  },
];

/** The known bug a bad answer is an instance of, if every one of its problems is that bug's symptom. */
export function knownBugOf(req: HostileRequest, problems: readonly string[]): KnownBug | undefined {
  return KNOWN_BUGS.find((bug) => bug.shape(req) && problems.length > 0 && problems.every(bug.symptom));
}
