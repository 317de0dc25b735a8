/**
 * Where a profiled server's requests spent their time, from its own histogram
 * (`kitvault_graphql_request_duration_seconds`, by operation and cache result): the CPU profile
 * says what the process was busy with, this says how long each kind of request took, waiting
 * included. A workload whose server is not busy all the time (the mixed one) is bound by the waits.
 */
import type { Samples } from './probes.js';

export const DURATION_METRIC = 'kitvault_graphql_request_duration_seconds';

export type TimingRow = { operation: string; cache: string; count: number; meanMs: number; shareOfTime: number };

/**
 * Rows by operation and cache result for what happened between two scrapes of one server (its
 * histogram's sums and counts subtract), the largest share of summed request time first.
 */
export function timingRows(before: Samples | null, after: Samples | null): TimingRow[] {
  const sums = new Map<string, { operation: string; cache: string; sum: number; count: number }>();
  const row = (labels: Record<string, string>) => {
    const operation = labels.operation ?? '';
    const cache = labels.cache ?? '';
    const key = `${operation}\0${cache}`;
    const known = sums.get(key) ?? { operation, cache, sum: 0, count: 0 };
    sums.set(key, known);
    return known;
  };
  for (const [samples, sign] of [
    [after, 1],
    [before, -1],
  ] as const) {
    for (const s of samples?.get(`${DURATION_METRIC}_sum`) ?? []) row(s.labels).sum += sign * s.value;
    for (const s of samples?.get(`${DURATION_METRIC}_count`) ?? []) row(s.labels).count += sign * s.value;
  }
  const total = [...sums.values()].reduce((a, r) => a + r.sum, 0);
  return [...sums.values()]
    .filter((r) => r.count > 0)
    .map((r) => ({
      operation: r.operation,
      cache: r.cache,
      count: r.count,
      meanMs: (r.sum / r.count) * 1000,
      shareOfTime: total > 0 ? r.sum / total : 0,
    }))
    .sort((a, b) => b.shareOfTime - a.shareOfTime);
}

export function renderTimings(rows: readonly TimingRow[]): string[] {
  if (rows.length === 0) return ['(the server exported no request durations)'];
  return [
    '| operation | cache | requests | mean ms | share of request time |',
    '| --- | --- | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.operation} | ${r.cache} | ${r.count} | ${r.meanMs.toFixed(2)} | ${(r.shareOfTime * 100).toFixed(1)} % |`,
    ),
  ];
}
