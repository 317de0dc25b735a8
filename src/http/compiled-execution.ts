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
import { getOperationAST, getVariableValues, Kind, type ExecutionArgs } from 'graphql';

/** Whether this execution may be compiled; otherwise graphql-js runs it, as it would without the plugin. */
function compilable(args: ExecutionArgs): boolean {
  // The plugin caches a compiled document by the document alone, not by operation name: a document
  // holding several operations would run whichever was compiled first.
  let operations = 0;
  for (const definition of args.document.definitions) if (definition.kind === Kind.OPERATION_DEFINITION) operations++;
  if (operations !== 1) return false;
  const operation = getOperationAST(args.document, args.operationName);
  if (!operation || operation.operation === 'subscription') return false;
  if (!operation.variableDefinitions?.length) return true;
  // Variables that do not coerce are the client's mistake, which graphql-js answers with HTTP 400
  // and its own messages; graphql-jit's check would answer 200 with others.
  return !('errors' in getVariableValues(args.schema, operation.variableDefinitions, args.variableValues ?? {}));
}

export function compiledExecution() {
  return useGraphQlJit({}, { enableIf: compilable });
}
