/**
 * Compiled execution (graphql-jit, through @envelop/graphql-jit) for queries and mutations: each
 * document is compiled once into a function, which skips most of graphql-js's per-field work and
 * most of its allocation. On the miss path (response cache off, entity cache warm, the bench's
 * catalogue query) this was most of the remaining CPU: 648 → 1,397 req/s under the profiler.
 *
 * What it changes, and how this API keeps its answers the same (test/api/compiled-execution.test.ts):
 *  - the default resolver does not call function-valued properties, so lazy fields have resolvers
 *    of their own (`totalCount`: src/resolvers/connection.ts);
 *  - subscriptions keep graphql-js, which refuses them (the schema has none) as a client's mistake.
 * It runs before the response cache's plugins, so their execute wraps the compiled one.
 */
import { useGraphQlJit } from '@envelop/graphql-jit';
import { getOperationAST } from 'graphql';

export function compiledExecution() {
  return useGraphQlJit(
    {},
    { enableIf: (args) => getOperationAST(args.document, args.operationName)?.operation !== 'subscription' },
  );
}
