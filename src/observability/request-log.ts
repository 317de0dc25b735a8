/**
 * One log line per GraphQL operation: request id, operation name, duration, cache result (hits at
 * debug level: they are the common case and cheap). Also feeds the duration histogram, and echoes
 * the request id in `x-request-id`. The histogram's `operation` label comes from a bounded set
 * (operation-labels.ts); the log line keeps the client's name, cut at 100 characters.
 */
import { getOperationAST, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { AppContext } from '../context.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { logName } from './operation-labels.js';

/** `cacheOutcome` says what the response cache did for a request (by its context). */
export function requestLogPlugin(
  logger: Logger,
  metrics: Metrics | null,
  cacheOutcome: (context: object) => 'hit' | 'miss' | 'none',
): Plugin<AppContext> {
  const requestIds = new WeakMap<Request, string>();
  return {
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
    onResponse({ request, response }) {
      const id = requestIds.get(request);
      if (id) response.headers.set('x-request-id', id);
    },
  };
}
