/**
 * The one place errors become what a client sees. Domain errors keep their code and message;
 * GraphQL's own errors (syntax, validation, variable coercion) get a stable code; a database that
 * cannot be reached or does not answer in time is DATABASE_UNAVAILABLE (logged as a warning once
 * per burst: an outage fails many fields); everything else is logged and masked as
 * INTERNAL_SERVER_ERROR with no stack or SQL text.
 */
import { GraphQLError, type ValidationContext } from 'graphql';
import { AppError, causes, DATABASE_UNAVAILABLE_MESSAGE, isDatabaseUnavailable, sqlState } from '../errors.js';
import type { Logger } from '../observability/logger.js';

/**
 * Each graphql-armor limit answers with a code of its own (stable: clients may branch on it), the
 * limit's message without armor's false "Syntax Error: " prefix (the document parsed, or would
 * have: it is refused for its size or shape), and HTTP 400 for every media type (a refused request
 * is the client's mistake). The limits are configured with these handlers in app.ts, so the error is
 * built where the limit is hit, not recognised later by its wording.
 */
export const LIMIT_CODES = {
  maxDepth: 'QUERY_TOO_DEEP',
  maxAliases: 'TOO_MANY_ALIASES',
  maxDirectives: 'TOO_MANY_DIRECTIVES',
  maxTokens: 'TOO_MANY_TOKENS',
  costLimit: 'QUERY_TOO_COMPLEX',
} as const;

export type Limit = keyof typeof LIMIT_CODES;

const limitCodes: ReadonlySet<unknown> = new Set(Object.values(LIMIT_CODES));
const isLimitCode = (code: unknown): code is (typeof LIMIT_CODES)[Limit] => limitCodes.has(code);

/** `spec: false`: yoga would otherwise answer 200 to plain JSON clients, as for other validation errors. */
const LIMIT_HTTP = { spec: false, status: 400 } as const;

/**
 * armor's rejection options for one limit: instead of armor's own error, ours. A validation rule
 * (ctx given) reports it, so graphql-js answers it as any validation error; the token limit runs in
 * the parser (no ctx) and throws it.
 */
export function limitRejection(limit: Limit) {
  const code = LIMIT_CODES[limit];
  return {
    propagateOnRejection: false,
    onReject: [
      (ctx: ValidationContext | null, armorError: GraphQLError): void => {
        const error = new GraphQLError(armorError.message.replace(/^Syntax Error: /, ''), {
          extensions: { code, http: { ...LIMIT_HTTP } },
        });
        if (!ctx) throw error;
        ctx.reportError(error);
      },
    ],
  };
}

function clientCode(error: GraphQLError): string {
  const message = error.message;
  if (message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED';
  if (/^Variable "\$[^"]+" (got invalid value|of required type|of non-null type)/.test(message))
    return 'BAD_USER_INPUT';
  if (
    /^(Int|Float|String|Boolean|ID|Enum|DateTime) cannot represent|^Expected value of type|^Argument "[^"]+" of/.test(
      message,
    )
  )
    return 'BAD_USER_INPUT';
  return 'GRAPHQL_VALIDATION_FAILED';
}

/** By shape, not `instanceof`: yoga may load graphql's CJS build while we load its ESM one. */
const isGraphQLError = (e: unknown): e is GraphQLError =>
  e instanceof GraphQLError || (e instanceof Error && e.name === 'GraphQLError' && 'extensions' in e);

/** What is logged of a database error: its code and message, never the SQL or its parameters. */
function describeDatabaseError(error: unknown): { code?: string; message: string } {
  const innermost = [...causes(error)].at(-1) ?? error;
  const code = (innermost as { code?: unknown }).code;
  return {
    ...(typeof code === 'string' ? { code } : {}),
    message: innermost instanceof Error ? innermost.message : String(innermost),
  };
}

/**
 * Logs database unavailability once per burst: the first with its cause, then at most one line per
 * `intervalMs` saying how many more there were.
 */
function databaseUnavailableLog(logger: Logger, intervalMs: number) {
  let windowStart = -Infinity;
  let suppressed = 0;
  return (error: unknown, path: readonly (string | number)[] | undefined) => {
    const now = Date.now();
    if (now - windowStart >= intervalMs) {
      logger.warn({ cause: describeDatabaseError(error), path, suppressed }, 'database unavailable');
      windowStart = now;
      suppressed = 0;
    } else {
      suppressed += 1;
    }
  };
}

export function createMaskError(logger: Logger, options: { burstIntervalMs?: number } = {}) {
  const logUnavailable = databaseUnavailableLog(logger, options.burstIntervalMs ?? 10_000);
  return (error: unknown): Error => {
    const graphqlError = isGraphQLError(error) ? error : undefined;
    const original = graphqlError ? graphqlError.originalError : error;
    const location = graphqlError ? { nodes: graphqlError.nodes, path: graphqlError.path } : {};

    if (original instanceof AppError) {
      return new GraphQLError(original.message, {
        ...location,
        extensions: { ...original.details, code: original.code },
      });
    }
    // Postgres refuses text it cannot store (a NUL byte, SQLSTATE 22021): the client's input, not our fault.
    if (sqlState(original ?? error) === '22021') {
      return new GraphQLError('text arguments must not contain NUL (U+0000) characters', {
        ...location,
        extensions: { code: 'BAD_USER_INPUT' },
      });
    }
    if (isDatabaseUnavailable(original ?? error)) {
      logUnavailable(original ?? error, graphqlError?.path);
      return new GraphQLError(DATABASE_UNAVAILABLE_MESSAGE, {
        ...location,
        extensions: { code: 'DATABASE_UNAVAILABLE' },
      });
    }
    // An error GraphQL itself raised about the request (no original error, or a GraphQLError thrown
    // by a scalar): the client's mistake, safe to show.
    if (graphqlError && (!original || isGraphQLError(original))) {
      const code = (original as GraphQLError | undefined)?.extensions?.code ?? graphqlError.extensions?.code;
      // The token limit fails the parse, and yoga marks every parse error `spec` (200 for plain JSON).
      if (isLimitCode(code)) {
        return new GraphQLError(graphqlError.message, { ...location, extensions: { code, http: LIMIT_HTTP } });
      }
      if (typeof code === 'string' && code !== 'INTERNAL_SERVER_ERROR') return graphqlError;
      if (!graphqlError.path) {
        return new GraphQLError(graphqlError.message, {
          ...location,
          extensions: { ...graphqlError.extensions, code: clientCode(graphqlError) },
        });
      }
    }
    logger.error({ err: original ?? error, path: graphqlError?.path }, 'internal error');
    return new GraphQLError('Internal server error', { ...location, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}
