/**
 * One log line per GraphQL operation: request id, operation name, duration, cache result (hits at
 * debug level: they are the common case and cheap). Also feeds the duration histogram, and echoes
 * the request id in `x-request-id`. The histogram's `operation` label comes from a bounded set
 * (operation-labels.ts); the log line keeps the client's name, cut at 100 characters.
 *
 * A request refused before execution (unreadable, unparsable, invalid, over a limit) gets one
 * line too, at info: the client's mistake, not ours (`graphql refused`, with the error codes).
 * Server faults are logged apart, at error, by the error masking.
 */
import { getOperationAST, type ExecutionResult, type GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppContext } from '../context.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { logName } from './operation-labels.js';

/** What yoga hands its result processors (its own type is not exported). */
type ProcessedResult = Parameters<NonNullable<Plugin['onResultProcess']>>[0]['result'];

/**
 * `cacheOutcome` says what the response cache did for a request (by its context); `requestIdOf`
 * names a request that never got a context (refused before execution).
 */
export function requestLogPlugin(
  logger: Logger,
  metrics: Metrics | null,
  cacheOutcome: (context: object) => 'hit' | 'miss' | 'none',
  requestIdOf: (request: Request) => string,
): Plugin<AppContext> {
  const requestIds = new WeakMap<Request, string>();
  const startedAt = new WeakMap<Request, number>();
  return {
    onRequest({ request }) {
      startedAt.set(request, performance.now());
    },
    onExecute({ args }) {
      const context = args.contextValue as AppContext & { request: Request };
      requestIds.set(context.request, context.requestId);
      return {
        onExecuteDone({ result }) {
          const name = args.operationName ?? getOperationAST(args.document, args.operationName)?.name?.value;
          const cache = cacheOutcome(context);
          const seconds = (performance.now() - context.startedAt) / 1000;
          metrics?.requestDuration.observe({ operation: metrics.operations.label(name), cache }, seconds);
          const errors =
            Symbol.asyncIterator in (result as object) ? 0 : ((result as ExecutionResult).errors?.length ?? 0);
          const line = {
            reqId: context.requestId,
            operation: logName(name),
            ms: Math.round(seconds * 10_000) / 10,
            cache,
            errors,
          };
          if (cache === 'hit') logger.debug(line, 'graphql');
          else logger.info(line, 'graphql');
        },
      };
    },
    onResultProcess({ request, result }) {
      if (requestIds.has(request)) return; // executed: logged above
      const errors = errorsOf(result);
      if (!errors.length) return;
      const reqId = requestIdOf(request);
      requestIds.set(request, reqId);
      const began = startedAt.get(request);
      logger.info(
        {
          reqId,
          ...(began === undefined ? {} : { ms: Math.round((performance.now() - began) * 10) / 10 }),
          errors: errors.length,
          codes: [...new Set(errors.map((e) => e.extensions?.code).filter((c) => typeof c === 'string'))],
          message: errors[0]!.message.slice(0, 200),
        },
        'graphql refused',
      );
    },
    onResponse({ request, response }) {
      const id = requestIds.get(request);
      if (id) response.headers.set('x-request-id', id);
    },
  };
}

/** The errors of a single result (batches are off; a stream is logged by execution, not here). */
function errorsOf(result: ProcessedResult): readonly GraphQLError[] {
  if (Array.isArray(result) || Symbol.asyncIterator in result) return [];
  return result.errors ?? [];
}
