/**
 * Operation names as metric labels, from a bounded set. The name comes from the client, so a loop
 * of random names must not grow the histogram's series (memory, scrape size) without bound. A name
 * is its own label when it is configured (`METRICS_OPERATION_NAMES`) or among the first `max`
 * distinct names this process saw (`METRICS_MAX_OPERATIONS`); every later one is `other`. An
 * operation without a name is `anonymous`. Only GraphQL names of at most 100 characters qualify;
 * anything else (an `operationName` a client made up) is `other` too. So the label takes at most
 * configured + max + 2 values.
 *
 * Logs may keep the real name: `logName` truncates it (100 characters and an ellipsis).
 */

export const ANONYMOUS = 'anonymous';
export const OTHER = 'other';
/** The longest operation name used as a label, or logged whole. */
export const MAX_NAME_LENGTH = 100;
/** The most distinct names `METRICS_MAX_OPERATIONS` may allow. */
export const MAX_OPERATIONS_LIMIT = 1000;
export const DEFAULT_MAX_OPERATIONS = 100;

const GRAPHQL_NAME = new RegExp(`^[_A-Za-z][_0-9A-Za-z]{0,${MAX_NAME_LENGTH - 1}}$`);

/** True for a GraphQL name short enough to be a label (what `METRICS_OPERATION_NAMES` accepts). */
export const isLabelName = (name: string): boolean => GRAPHQL_NAME.test(name);

export type OperationLabelOptions = {
  /** Names that always get their own label, however many others were seen first. */
  names?: readonly string[];
  /** How many other distinct names get their own label (first come); default 100, at most 1000. */
  max?: number;
};

export type OperationLabels = {
  /** The label for an operation name (`undefined`, `null` or empty: anonymous). */
  label(name: string | null | undefined): string;
};

export function createOperationLabels(options: OperationLabelOptions = {}): OperationLabels {
  const configured = new Set((options.names ?? []).filter(isLabelName));
  const max = Math.max(0, Math.min(options.max ?? DEFAULT_MAX_OPERATIONS, MAX_OPERATIONS_LIMIT));
  const seen = new Set<string>();
  return {
    label(name) {
      if (!name || name === ANONYMOUS) return ANONYMOUS;
      if (configured.has(name) || seen.has(name)) return name;
      if (name === OTHER || seen.size >= max || !isLabelName(name)) return OTHER;
      seen.add(name);
      return name;
    },
  };
}

/** The operation name as a log line carries it: the real one, cut at 100 characters. */
export function logName(name: string | null | undefined): string {
  if (!name) return ANONYMOUS;
  return name.length > MAX_NAME_LENGTH ? `${name.slice(0, MAX_NAME_LENGTH)}…` : name;
}
