/**
 * Results: the machine description, per-round numbers, their medians, the ratios, and the JSON and
 * Markdown written to bench/results/.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { L1Drops } from './probes.js';
import { BALANCED_POOL_SIZE } from './servers.js';

export type Machine = {
  cpuModel: string;
  cores: number;
  node: string;
  platform: string;
  kernel: string;
  memoryGiB: number;
};

export function describeMachine(): Machine {
  let cpuModel = os.cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match) cpuModel = match[1]!.trim();
  } catch {
    /* not Linux: keep os.cpus() */
  }
  return {
    cpuModel,
    cores: os.availableParallelism?.() ?? os.cpus().length,
    node: process.version,
    platform: `${os.platform()} ${os.arch()}`,
    kernel: os.release(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

export type ScenarioKey =
  | 'floor'
  | 'hitPublic'
  | 'hitPublicBaseline'
  | 'hitPrivate'
  | 'missEntity'
  | 'missEntityBaseline'
  | 'memoryYoga'
  | 'noCache'
  | 'mixed'
  | 'mixedBalanced'
  | 'mixedBaseline'
  | 'hitPublicBalanced'
  | 'stock';

/**
 * A scenario's number; "2b", "4b" and "6b" are 2, 4 and 6 on the baseline build (BENCH_BASELINE_MAIN);
 * "2h" and "6h" are 2 and 6 on three instances behind HAProxy; "4y" is 4's query on yoga answering
 * from in-process memory, the miss path's yardstick.
 */
export type ScenarioNumber = number | '2b' | '4b' | '6b' | '4y' | '2h' | '6h';

/** In table order: a baseline scenario right under its counterpart. */
export const SCENARIOS: { n: ScenarioNumber; key: ScenarioKey; label: string }[] = [
  { n: 1, key: 'floor', label: 'floor: node:http + one Redis GET' },
  { n: 2, key: 'hitPublic', label: 'response-cache hit, public catalogue' },
  { n: '2b', key: 'hitPublicBaseline', label: 'response-cache hit, public catalogue (baseline build)' },
  { n: '2h', key: 'hitPublicBalanced', label: 'response-cache hit, public catalogue, 3 instances behind HAProxy' },
  { n: 3, key: 'hitPrivate', label: 'response-cache hit, private, 200 users' },
  { n: 4, key: 'missEntity', label: 'response cache off, entity cache warm' },
  { n: '4b', key: 'missEntityBaseline', label: 'response cache off, entity cache warm (baseline build)' },
  { n: '4y', key: 'memoryYoga', label: 'yoga, same schema, from in-process memory (yardstick)' },
  { n: 5, key: 'noCache', label: 'no caches' },
  { n: 6, key: 'mixed', label: 'mixed 95% reads (Zipf) / 5% renames' },
  { n: '6b', key: 'mixedBaseline', label: 'mixed 95% reads (Zipf) / 5% renames (baseline build)' },
  { n: '6h', key: 'mixedBalanced', label: 'mixed 95% reads (Zipf) / 5% renames, 3 instances behind HAProxy' },
  { n: 7, key: 'stock', label: 'stock yoga response cache (Redis), hit' },
];

export type Answer = 'ok' | 'list-order' | 'different';

export type RunResult = {
  scenario: ScenarioNumber;
  key: ScenarioKey;
  round: number;
  durationS: number;
  requests: number;
  requestsPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyAvgMs: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  hits: number | null;
  misses: number | null;
  hitRate: number | null;
  sqlPerRequest: number | null;
  redisCallsPerRequest: number;
  redisCallsPerRequestByCommand: Record<string, number>;
  redisCpuPercent: number;
  serverCpuPercent: number | null;
  serverRssMiB: number | null;
  loadgenCpuPercent: number;
  postgresCpuPercent: number;
  machineCpuPercent: number | null;
  /** Machine CPU beyond server, load generator, Redis and Postgres: other processes (noise). */
  otherCpuPercent: number | null;
  /** The writes' drops to every instance's in-process layers (absent in older results; null: not exported). */
  l1Drops?: L1Drops | null;
  /** Scenario 6 only. */
  mixed?: {
    reads: number;
    writes: number;
    distinctReads: number;
    graphqlErrors: number;
    graphqlErrorSamples: string[];
    correctness: { checked: number; mismatches: number; errors: number; seconds: number; samples: unknown[] };
  };
  /**
   * The answer after the run, against the no-cache server's (the floor: the stored bytes; the
   * mixed workload: its correctness check; 4y: its own answer, checked against the no-cache
   * server's before measuring): the same, the same but for the order of a list, or not.
   */
  answer: Answer | null;
};

export type Summary = {
  scenario: ScenarioNumber;
  key: ScenarioKey;
  label: string;
  rounds: number;
  requestsPerSecond: number;
  requestsPerSecondMin: number;
  requestsPerSecondMax: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  requests: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  hitRate: number | null;
  sqlPerRequest: number | null;
  redisCallsPerRequest: number;
  redisCallsPerRequestByCommand: Record<string, number>;
  serverCpuPercent: number | null;
  serverRssMiB: number | null;
  redisCpuPercent: number;
  loadgenCpuPercent: number;
  postgresCpuPercent: number;
  otherCpuPercent: number | null;
  /** The worst answer check over the rounds. */
  answer: Answer | null;
};

export type RatioDefinition = { name: string; over: ScenarioKey; under: ScenarioKey };

export const RATIOS: RatioDefinition[] = [
  { name: '(2)/(1) hit vs floor', over: 'hitPublic', under: 'floor' },
  { name: '(3)/(1) private hit vs floor', over: 'hitPrivate', under: 'floor' },
  { name: '(2)/(7) hit vs stock', over: 'hitPublic', under: 'stock' },
  { name: '(2)/(5) hit vs no caches', over: 'hitPublic', under: 'noCache' },
  { name: '(4)/(5) entity cache vs none', over: 'missEntity', under: 'noCache' },
  { name: '(4)/(4y) entity-warm miss vs in-memory yoga', over: 'missEntity', under: 'memoryYoga' },
];

/** With BENCH_BASELINE_MAIN: this build over the baseline build (above 1: this build is faster). */
export const BASELINE_RATIOS: RatioDefinition[] = [
  { name: '(2)/(2b) hit vs baseline build', over: 'hitPublic', under: 'hitPublicBaseline' },
  { name: '(4)/(4b) entity cache vs baseline build', over: 'missEntity', under: 'missEntityBaseline' },
  { name: '(6)/(6b) mixed vs baseline build', over: 'mixed', under: 'mixedBaseline' },
];

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const medianOrNull = (values: readonly (number | null)[]): number | null => {
  const present = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return present.length ? median(present) : null;
};

export function summarise(runs: readonly RunResult[]): Summary[] {
  const out: Summary[] = [];
  for (const s of SCENARIOS) {
    const mine = runs.filter((r) => r.key === s.key);
    if (!mine.length) continue;
    const sum = (f: (r: RunResult) => number) => mine.reduce((n, r) => n + f(r), 0);
    const hits = mine.every((r) => r.hits !== null) ? sum((r) => r.hits!) : null;
    const misses = mine.every((r) => r.misses !== null) ? sum((r) => r.misses!) : null;
    const commands = new Set(mine.flatMap((r) => Object.keys(r.redisCallsPerRequestByCommand)));
    const byCommand: Record<string, number> = {};
    for (const c of commands) byCommand[c] = median(mine.map((r) => r.redisCallsPerRequestByCommand[c] ?? 0));
    out.push({
      scenario: s.n,
      key: s.key,
      label: s.label,
      rounds: mine.length,
      requestsPerSecond: median(mine.map((r) => r.requestsPerSecond)),
      requestsPerSecondMin: Math.min(...mine.map((r) => r.requestsPerSecond)),
      requestsPerSecondMax: Math.max(...mine.map((r) => r.requestsPerSecond)),
      latencyP50Ms: median(mine.map((r) => r.latencyP50Ms)),
      latencyP99Ms: median(mine.map((r) => r.latencyP99Ms)),
      requests: sum((r) => r.requests),
      errors: sum((r) => r.errors),
      timeouts: sum((r) => r.timeouts),
      non2xx: sum((r) => r.non2xx),
      hitRate: hits !== null && misses !== null && hits + misses > 0 ? hits / (hits + misses) : null,
      sqlPerRequest: medianOrNull(mine.map((r) => r.sqlPerRequest)),
      redisCallsPerRequest: median(mine.map((r) => r.redisCallsPerRequest)),
      redisCallsPerRequestByCommand: byCommand,
      serverCpuPercent: medianOrNull(mine.map((r) => r.serverCpuPercent)),
      serverRssMiB: mine[mine.length - 1]!.serverRssMiB,
      redisCpuPercent: median(mine.map((r) => r.redisCpuPercent)),
      loadgenCpuPercent: median(mine.map((r) => r.loadgenCpuPercent)),
      postgresCpuPercent: median(mine.map((r) => r.postgresCpuPercent)),
      otherCpuPercent: medianOrNull(mine.map((r) => r.otherCpuPercent)),
      answer: (['different', 'list-order', 'ok'] as const).find((a) => mine.some((r) => r.answer === a)) ?? null,
    });
  }
  return out;
}

export type Ratio = { name: string; value: number | null };

export type Correctness = { checked: number; mismatches: number; errors: number };

/** The mixed workload over all rounds (null when it did not run). */
export function mixedTotals(
  runs: readonly RunResult[],
  summary: readonly Summary[],
  correctness: readonly Correctness[],
  key: 'mixed' | 'mixedBalanced' | 'mixedBaseline' = 'mixed',
): Report['mixed'] {
  const mixedRuns = runs.filter((r) => r.key === key);
  if (!mixedRuns.length) return null;
  return {
    mismatches: correctness.reduce((n, c) => n + c.mismatches, 0),
    checked: correctness.reduce((n, c) => n + c.checked, 0),
    errors:
      correctness.reduce((n, c) => n + c.errors, 0) + mixedRuns.reduce((n, r) => n + (r.mixed?.graphqlErrors ?? 0), 0),
    hitRate: summary.find((s) => s.key === key)?.hitRate ?? null,
    writes: mixedRuns.reduce((n, r) => n + (r.mixed?.writes ?? 0), 0),
    reads: mixedRuns.reduce((n, r) => n + (r.mixed?.reads ?? 0), 0),
  };
}

/** Notes on things worth a second look in the results (noise, failed checks, errors, a saturated load generator). */
export function noteFindings(runs: readonly RunResult[], summary: readonly Summary[], notes: string[]): void {
  const noisy = runs.filter((r) => (r.otherCpuPercent ?? 0) > 25);
  if (noisy.length) {
    const other = (r: RunResult) => r.otherCpuPercent ?? 0;
    notes.push(
      `other processes on the machine used CPU during ${noisy.length} of ${runs.length} runs (up to ${Math.max(...noisy.map(other)).toFixed(0)}% of a core: ` +
        `${noisy.map((r) => `r${r.round}/s${r.scenario} ${other(r).toFixed(0)}%`).join(', ')}): those numbers are disturbed.`,
    );
  }
  for (const r of runs) {
    if (r.answer === 'different')
      notes.push(`round ${r.round} scenario ${r.scenario}: the answer check after the run failed.`);
  }
  for (const s of summary) {
    if (s.errors + s.non2xx > 0)
      notes.push(
        `scenario ${s.scenario}: ${s.errors} errors (of which ${s.timeouts} timeouts), ${s.non2xx} non-2xx answers.`,
      );
    if (s.loadgenCpuPercent > 90) {
      notes.push(
        `scenario ${s.scenario}: the load generator used ${s.loadgenCpuPercent.toFixed(0)}% of a core: it (not the server) may be the limit.`,
      );
    }
  }
  notes.push(
    'Redis commands and Redis CPU are read from the whole Redis server: other clients of the same Redis during the run would be counted too.',
  );
}

/** With the balancer: three instances behind HAProxy over one instance (above 1: the three serve more). */
export const BALANCER_RATIOS: RatioDefinition[] = [
  { name: '(2h)/(2) hit, three behind HAProxy vs one', over: 'hitPublicBalanced', under: 'hitPublic' },
  {
    name: '(6h)/(6) mixed, three of a shared deployment behind HAProxy vs one alone',
    over: 'mixedBalanced',
    under: 'mixed',
  },
];

/** Each ratio's median over rounds (the scenarios of a round ran side by side, so a round's ratio is a fair pair). */
export function medianRatios(
  rounds: readonly { ratios: Ratio[] }[],
  definitions: readonly RatioDefinition[] = RATIOS,
): Ratio[] {
  return definitions.map(({ name }, i) => ({
    name,
    value: medianOrNull(rounds.map((r) => r.ratios[i]?.value ?? null)),
  }));
}

export function ratios(
  rps: Partial<Record<ScenarioKey, number>>,
  definitions: readonly RatioDefinition[] = RATIOS,
): Ratio[] {
  return definitions.map(({ name, over, under }) => {
    const a = rps[over];
    const b = rps[under];
    return { name, value: a !== undefined && b !== undefined && b > 0 ? a / b : null };
  });
}

export type Stampede = {
  concurrent: number;
  query: string;
  flushedKeys: number;
  seconds: number;
  ok: number;
  failed: number;
  identicalAnswers: boolean;
  sqlStatements: number | null;
  responseCacheMisses: number | null;
  /** Misses that joined an identical one in flight (when the server exports it). */
  responseCacheCoalesced: number | null;
  /** Executions: misses less coalesced ones; equal to misses when the server exports no coalesced count. */
  executions: number | null;
  responseCacheHits: number | null;
  redisCalls: number;
};

export type FaultLink = 'redis' | 'postgres';
export type FaultPhaseKey = 'healthy' | 'redisCut' | 'redisHeld' | 'postgresCut' | 'postgresHeld' | 'recovered';

/**
 * One kind of query in a fault phase: requests sent; answers, of which 2xx with data, non-2xx and
 * 2xx with `errors`; errorRate over its answers. Sent less answered: timed out, failed to connect, or
 * still in flight when the phase ended (autocannon does not say which kind of request timed out).
 */
export type QueryTally = {
  sent: number;
  answered: number;
  ok: number;
  non2xx: number;
  graphqlErrors: number;
  errorRate: number | null;
};

export type FaultPhase = {
  n: number;
  key: FaultPhaseKey;
  label: string;
  /** What was broken during the phase; null: nothing (healthy, recovered). */
  fault: { link: FaultLink; mode: 'cut' | 'hold' } | null;
  durationS: number;
  /** Requests autocannon sent: answered + timeouts + connection errors + in flight at the end. */
  sent: number;
  answered: number;
  /** Answers (any status) per second. */
  requestsPerSecond: number;
  /** Over the answered requests only (null: none answered); timeouts are counted apart. */
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  latencyMaxMs: number | null;
  non2xx: number;
  /** 2xx answers whose JSON has `errors`. */
  graphqlErrors: number;
  timeouts: number;
  connectionErrors: number;
  /** Sent but neither answered nor failed when the phase ended: at most one per connection. */
  inFlightAtEnd: number;
  /** (non-2xx + 2xx with errors + timeouts + connection errors) / (answered + timeouts + connection errors). */
  errorRate: number | null;
  byQuery: { zipfReads: QueryTally; neverSeen: QueryTally };
  /** `extensions.code` of the errors in failed answers (or "HTTP <status>" when there is none), with counts. */
  errorCodes: Record<string, number>;
  errorSamples: string[];
  /** The answers' `x-cache` header (HIT, MISS, STALE, none), with counts. */
  xCache: Record<string, number>;
  /** From the server's /metrics: response-cache hits / (hits + misses); null without the metric. */
  hitRate: number | null;
  /** SQL statements over the requests that ended (answered, timed out or failed to connect). */
  sqlPerRequest: number | null;
  /** kitvault_redis_errors_total and kitvault_redis_short_circuits_total over the phase. */
  redisErrors: number | null;
  redisShortCircuits: number | null;
  serverCpuPercent: number | null;
  /**
   * After the fault was healed: seconds until a repeated query answered `x-cache: HIT` again, and
   * until a never-seen query was answered with data (null: not within the limit, or no x-cache header).
   */
  recovery: { cachingAgainS: number | null; databaseAgainS: number | null } | null;
};

export type Faults = {
  phaseS: number;
  warmupS: number;
  requestTimeoutS: number;
  connections: number;
  neverSeenShare: number;
  server: { pid: number; port: number; redisProxyPort: number; postgresProxyPort: number } | null;
  phases: FaultPhase[];
  /** Why the step stopped early; null when every phase ran. */
  error: string | null;
};

export type Report = {
  startedAt: string;
  finishedAt: string;
  command: string;
  machine: Machine;
  settings: Record<string, unknown>;
  dataset: Record<string, unknown>;
  servers: Record<string, unknown>;
  metricsEndpoint: Record<string, boolean>;
  runs: RunResult[];
  roundRatios: { round: number; ratios: Ratio[] }[];
  summary: Summary[];
  ratios: Ratio[];
  mixed: {
    mismatches: number;
    checked: number;
    errors: number;
    hitRate: number | null;
    writes: number;
    reads: number;
  } | null;
  /** The mixed workload through HAProxy in front of three instances (6h); absent when it did not run. */
  mixedBalanced?: Report['mixed'];
  /** Scenario 6b: the mixed workload on the baseline build (with BENCH_BASELINE_MAIN). */
  mixedBaseline?: Report['mixed'];
  stampede: Stampede | null;
  /** The fault scenario; null with --no-faults. */
  faults: Faults | null;
  notes: string[];
};

const fmt = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined || !Number.isFinite(value)
    ? 'null'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (value: number | null) => (value === null ? 'null' : `${(value * 100).toFixed(1)}%`);
const ratio = (value: number | null) => (value === null ? 'null' : `${value.toFixed(2)}×`);

export function markdownTable(summary: readonly Summary[]): string {
  const lines = [
    '| # | scenario | req/s (median) | req/s min–max | p50 ms | p99 ms | errors (incl. timeouts) | non-2xx | hit rate | SQL/req | Redis cmds/req | server CPU % | RSS MiB | Redis CPU % | Postgres CPU % | load-gen CPU % | other CPU % | answer |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const s of summary) {
    lines.push(
      `| ${s.scenario} | ${s.label} | ${fmt(s.requestsPerSecond)} | ${fmt(s.requestsPerSecondMin)}–${fmt(s.requestsPerSecondMax)} | ${fmt(s.latencyP50Ms, 1)} | ${fmt(s.latencyP99Ms, 1)} | ${s.errors} | ${s.non2xx} | ${pct(s.hitRate)} | ${fmt(s.sqlPerRequest, 3)} | ${fmt(s.redisCallsPerRequest, 2)} | ${fmt(s.serverCpuPercent)} | ${fmt(s.serverRssMiB)} | ${fmt(s.redisCpuPercent)} | ${fmt(s.postgresCpuPercent)} | ${fmt(s.loadgenCpuPercent)} | ${fmt(s.otherCpuPercent)} | ${s.answer === 'different' ? '**DIFFERENT**' : (s.answer ?? '—')} |`,
    );
  }
  return lines.join('\n');
}

const seconds = (value: number | null) => (value === null ? 'null' : value.toFixed(2));

export function faultsTable(faults: Faults): string {
  const lines = [
    '| # | phase | req/s | p50 ms | p99 ms | non-2xx | 2xx with errors | timeouts + conn. errors | error rate | never-seen: with data / sent | Zipf reads: with data / sent | hit rate | SQL/req | Redis errors / short circuits | after the heal: caching / Postgres again (s) |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const p of faults.phases) {
    lines.push(
      `| ${p.n} | ${p.label} | ${fmt(p.requestsPerSecond)} | ${fmt(p.latencyP50Ms, 1)} | ${fmt(p.latencyP99Ms, 1)} | ${fmt(p.non2xx)} | ${fmt(p.graphqlErrors)} | ` +
        `${fmt(p.timeouts + p.connectionErrors)} | ${pct(p.errorRate)} | ${fmt(p.byQuery.neverSeen.ok)} / ${fmt(p.byQuery.neverSeen.sent)} | ${fmt(p.byQuery.zipfReads.ok)} / ${fmt(p.byQuery.zipfReads.sent)} | ` +
        `${pct(p.hitRate)} | ${fmt(p.sqlPerRequest, 3)} | ${fmt(p.redisErrors)} / ${fmt(p.redisShortCircuits)} | ` +
        `${p.recovery ? `${seconds(p.recovery.cachingAgainS)} / ${seconds(p.recovery.databaseAgainS)}` : '—'} |`,
    );
  }
  return lines.join('\n');
}

/** The phases' error codes, one line each (phases without failed answers left out). */
function faultCodes(faults: Faults): string[] {
  return faults.phases
    .filter((p) => Object.keys(p.errorCodes).length > 0)
    .map(
      (p) =>
        `(${p.n}) ${p.label}: ${Object.entries(p.errorCodes)
          .sort((a, b) => b[1] - a[1])
          .map(([code, n]) => `${code} ×${fmt(n)}`)
          .join(', ')}`,
    );
}

/**
 * The writes' drops to every instance's in-process layers in a scenario's runs: how many, the
 * worst round's p50 and p99 (histogram bucket bounds), and how many some instance left unacknowledged.
 */
export function dropDelivery(runs: readonly RunResult[], scenario: ScenarioNumber): string | null {
  const drops = runs.filter((r) => r.scenario === scenario && r.l1Drops && r.l1Drops.count > 0).map((r) => r.l1Drops!);
  if (!drops.length) return null;
  const worst = (pick: (d: L1Drops) => number | null) => Math.max(...drops.map((d) => pick(d) ?? 0));
  const bound = (ms: number) => (Number.isFinite(ms) ? `≤ ${ms} ms` : '> 2.5 s');
  const count = drops.reduce((n, d) => n + d.count, 0);
  const unacknowledged = drops.reduce((n, d) => n + d.unacknowledged, 0);
  return (
    `${fmt(count)} drops reached every instance's in-process layers (\`kitvault_l1_drop_delivery_seconds\`) with p50 ` +
    `${bound(worst((d) => d.p50Ms))} and p99 ${bound(worst((d) => d.p99Ms))} (the worst round, bucket bounds); ` +
    `${fmt(unacknowledged)} waited out (an instance did not acknowledge within 1 s)`
  );
}

/** The end of a run on the console: the table, the ratios, the checks, the notes, the files written. */
export function printReport(report: Report, files: readonly string[]): void {
  console.log('');
  console.log(markdownTable(report.summary));
  console.log('');
  for (const r of report.ratios)
    console.log(`${r.name} (median of rounds): ${r.value === null ? 'null' : `${r.value.toFixed(2)}×`}`);
  if (report.mixed) {
    console.log(
      `mixed workload: ${report.mixed.mismatches} mismatches in ${report.mixed.checked} checks (${report.mixed.errors} errors), hit rate ${report.mixed.hitRate === null ? 'null' : (report.mixed.hitRate * 100).toFixed(1) + '%'}`,
    );
    const drops = dropDelivery(report.runs, 6);
    if (drops) console.log(`mixed workload: ${drops}`);
  }
  if (report.mixedBalanced) {
    const mb = report.mixedBalanced;
    console.log(
      `mixed workload through HAProxy (three instances): ${mb.mismatches} mismatches in ${mb.checked} checks (${mb.errors} errors), hit rate ${pct(mb.hitRate)}`,
    );
    const drops = dropDelivery(report.runs, '6h');
    if (drops) console.log(`mixed workload through HAProxy: ${drops}`);
  }
  if (report.stampede) {
    console.log(
      `stampede (${report.stampede.concurrent} cold requests): SQL statements ${report.stampede.sqlStatements ?? 'null'}, response-cache misses ${report.stampede.responseCacheMisses ?? 'null'} ` +
        `(coalesced ${report.stampede.responseCacheCoalesced ?? 'null'}, executions ${report.stampede.executions ?? 'null'})`,
    );
  }
  if (report.faults) {
    console.log('');
    console.log(`Faults (${report.faults.phaseS} s per phase):`);
    console.log(faultsTable(report.faults));
    for (const line of faultCodes(report.faults)) console.log(`errors ${line}`);
    if (report.faults.error) console.log(`the fault step FAILED: ${report.faults.error}`);
  }
  for (const note of report.notes) console.log(`note: ${note}`);
  console.log(`\nwrote ${files.join(', ')}`);
}

export function markdown(report: Report): string {
  const m = report.machine;
  const out: string[] = [];
  out.push(`# Kitvault benchmark`);
  out.push('');
  out.push(`${report.startedAt} → ${report.finishedAt} · \`${report.command}\``);
  out.push('');
  out.push(
    `Machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform} (kernel ${m.kernel}), Node ${m.node}.`,
  );
  out.push('');
  const st = report.settings;
  out.push(
    `Settings: ${st.rounds} round(s) × ${st.durationS} s per scenario after ${st.warmupS} s warm-up, ${st.connections} connections, ` +
      `scenarios interleaved in each round. Data set: ${JSON.stringify(report.dataset)}.`,
  );
  out.push('');
  out.push(
    'Scenario 6 runs on a server of its own: a deployment of one instance (its own Redis prefix and its own copy of the bench ' +
      'database, made after seeding, checked against a no-cache server on that copy)' +
      (report.mixedBaseline ? ', as 6b is.' : '.') +
      (report.mixedBalanced
        ? " Scenario 6h runs on three instances of the scenario-2 server's deployment, which also holds the scenario-2 and " +
          "scenario-4 servers: each of its writes waits until all five instances' in-process layers have applied its drops, so " +
          '(6h)/(6) compares that deployment with one instance alone.'
        : ''),
  );
  out.push('');
  if (typeof st.baselineMain === 'string') {
    out.push(
      `Baseline build (2b, 4b, 6b): \`${st.baselineMain}\`, against \`${String(st.serverMain)}\`; started as 2 and 4 with the same environment ` +
        'but its own Redis prefixes and its own copy of the bench database (made after seeding), checked against our no-cache server on ' +
        "that copy: neither build's renames reach the other's data or caches. Its caches are emptied before each of its runs " +
        '(the warm-up fills them again); 6b runs on the baseline 2 server. Every mixed run (6, 6h, 6b) starts with its caches emptied by ' +
        '`purgeAllCaches`. In each round a scenario and its baseline run back to back, ' +
        'the order alternating between rounds.' +
        (report.mixedBaseline
          ? ` Mixed workload on the baseline build: ${fmt(report.mixedBaseline.reads)} reads and ${fmt(report.mixedBaseline.writes)} renames, ` +
            `hit rate ${pct(report.mixedBaseline.hitRate)}, **${report.mixedBaseline.mismatches} mismatches** in ${fmt(report.mixedBaseline.checked)} checks.`
          : ''),
    );
    out.push('');
  }
  out.push(markdownTable(report.summary));
  out.push('');
  out.push(
    'req/s, p50, p99, SQL/req, Redis cmds/req and CPU are medians over rounds; errors, non-2xx and the hit rate are over all rounds. ' +
      "SQL/req and hit rate come from the server's /metrics (null: the server exports no such metric). Redis cmds/req is the delta of " +
      '`INFO commandstats` calls (commands run inside Lua scripts included; INFO excluded) over the requests, for the whole Redis server. ' +
      'Server CPU is utime+stime of the server process as % of one core; load-gen CPU is the bench process running autocannon; ' +
      'other CPU is what the whole machine (/proc/stat) spent beyond server, load generator, Redis and Postgres: other processes, i.e. noise. ' +
      'answer: the answer after each run against the no-cache server (ok, list-order: equal but for the order of a list, DIFFERENT); ' +
      "4y serves the database as it read it at start (the mixed workload's renames never reach it): its answer is checked against " +
      "the no-cache server's before measuring, and after each run against that same answer.",
  );
  out.push('');
  out.push('## Ratios (requests per second)');
  out.push('');
  out.push(`| ratio | ${report.roundRatios.map((r) => `round ${r.round}`).join(' | ')} | median of rounds |`);
  out.push(`| --- | ${report.roundRatios.map(() => '---:').join(' | ')} | ---: |`);
  for (const [i, r] of report.ratios.entries()) {
    out.push(
      `| ${r.name} | ${report.roundRatios.map((rr) => ratio(rr.ratios[i]?.value ?? null)).join(' | ')} | ${ratio(r.value)} |`,
    );
  }
  out.push('');
  out.push('## Redis commands per request, by command (medians)');
  out.push('');
  for (const s of report.summary) {
    const top = Object.entries(s.redisCallsPerRequestByCommand)
      .filter(([, v]) => v >= 0.005)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([c, v]) => `${c} ${v.toFixed(2)}`)
      .join(', ');
    out.push(`- (${s.scenario}) ${s.label}: ${top || '—'}`);
  }
  out.push('');
  if (report.mixed) {
    const mx = report.mixed;
    out.push('## Mixed workload correctness');
    out.push('');
    out.push(
      `${fmt(mx.reads)} reads and ${fmt(mx.writes)} renames over all rounds; hit rate ${pct(mx.hitRate)}. After each round every distinct read ` +
        `(${fmt(mx.checked)} checks in all) was asked of the cached server and of the no-cache server: **${mx.mismatches} mismatches**` +
        (mx.errors ? `, ${mx.errors} answers with errors` : '') +
        '.',
    );
    const drops = dropDelivery(report.runs, 6);
    if (drops) out.push('', `Coherence of the in-process layers (one instance: its own): ${drops}.`);
    out.push('');
  }
  if (report.mixedBalanced) {
    const mb = report.mixedBalanced;
    out.push('## Three instances behind HAProxy');
    out.push('');
    out.push(
      "Scenarios 2h and 6h: three more processes of the measured build (both caches on, the scenario-2 server's Redis prefix and database: " +
        `its deployment, five instances with in-process layers in all; \`DATABASE_POOL_SIZE=${BALANCED_POOL_SIZE}\` each, ` +
        '`TRUST_PROXY=1`) behind HAProxy with `deploy/haproxy/haproxy.cfg` (round robin, keep-alive, health checks on `/ready`), each run right ' +
        'beside its one-process counterpart (2, 6) with the same load. Their server CPU and RSS are the three instances and HAProxy together, ' +
        "SQL/req and hit rate the three instances' /metrics added up. " +
        `Mixed workload through the balancer: ${fmt(mb.reads)} reads and ${fmt(mb.writes)} renames; hit rate ${pct(mb.hitRate)}; every distinct read ` +
        `asked again through the balancer and of the no-cache server (${fmt(mb.checked)} checks): **${mb.mismatches} mismatches**` +
        (mb.errors ? `, ${mb.errors} answers with errors` : '') +
        '.',
    );
    const drops = dropDelivery(report.runs, '6h');
    if (drops)
      out.push('', `Coherence of the three instances' in-process layers (renames arriving on any of them): ${drops}.`);
    out.push('');
  }
  if (report.stampede) {
    const s = report.stampede;
    out.push('## Stampede');
    out.push('');
    out.push(
      `${s.flushedKeys} keys of the bench prefix deleted (response and entity cache cold), then ${s.concurrent} concurrent identical requests ` +
        `for the catalogue query on the scenario-2 server: ${s.ok} answered (${s.failed} failed, identical answers: ${s.identicalAnswers}) in ${s.seconds.toFixed(2)} s; ` +
        `**SQL statements: ${fmt(s.sqlStatements)}**, **response-cache misses: ${fmt(s.responseCacheMisses)}** (coalesced into another execution: ${fmt(s.responseCacheCoalesced)}; ` +
        `executions: ${fmt(s.executions)}), hits: ${fmt(s.responseCacheHits)}, Redis commands: ${fmt(s.redisCalls)}. ` +
        'A miss is a lookup that found nothing; a server that coalesces identical misses executes fewer times than it misses ' +
        '(executions are null when it does not export how many it coalesced: the SQL statements tell how much work was done).',
    );
    out.push('');
  }
  if (report.faults) {
    const f = report.faults;
    out.push('## Faults');
    out.push('');
    out.push(
      `A server of the measured build with both caches on (its own Redis prefix), whose links to Redis and to Postgres go through TCP proxies ` +
        `the bench starts (a cut closes every connection and resets new ones; a hold keeps them open but delivers no byte). Load: ` +
        `${f.connections} connections, the mixed workload's reads over the same Zipf spread plus ${(f.neverSeenShare * 100).toFixed(0)}% club searches ` +
        `for words never asked before (only Postgres can answer them); ${f.warmupS} s warm-up, then ${f.phases.length} phases of ${f.phaseS} s in this order, ` +
        `each fault healed right after its phase.`,
    );
    out.push('');
    if (f.phases.length) out.push(faultsTable(f));
    out.push('');
    out.push(
      `req/s counts answers of any kind; p50 and p99 are over the answered requests only. A request unanswered after ${f.requestTimeoutS} s ` +
        'is a timeout (autocannon drops it and reconnects); one still waiting when the phase ended is in neither the latencies nor the ' +
        'error rate (`inFlightAtEnd` in the JSON: at most one per connection). ' +
        'error rate = (non-2xx + 2xx with errors + timeouts + connection errors) / (answered + timeouts + connection errors). ' +
        'never-seen and Zipf reads: the requests of each kind answered 200 with data, of those sent (sent also counts those in flight ' +
        'at the end; autocannon does not say which kind timed out). Hit rate, SQL/req (per request answered or failed) and the Redis error and short-circuit counts ' +
        "come from the server's /metrics over the phase. After each fault was healed, the bench polled (every 50 ms) until a repeated query " +
        'answered `x-cache: HIT` (caching again) and a never-seen query was answered with data (Postgres again): seconds from the heal. ' +
        "Every phase's traffic to Redis and Postgres crosses the proxies: compare the faults with phase 1, not with the scenarios above " +
        '(scenario 6 is the nearest load, without proxies and never-seen queries, with renames); phase 6 starts from a cache phases 1–5 ' +
        'warmed further. The load is closed-loop (each connection waits for its answer): when misses hang, every connection soon waits ' +
        'on one, so req/s then tells how long the server makes them wait more than how much it could serve.',
    );
    out.push('');
    const codes = faultCodes(f);
    if (codes.length) {
      out.push('Error codes in failed answers:');
      out.push('');
      for (const line of codes) out.push(`- ${line}`);
      out.push('');
    }
    if (f.error) {
      out.push(`**The fault step stopped early:** ${f.error.split('\n')[0]}`);
      out.push('');
    }
  }
  if (report.notes.length) {
    out.push('## Notes');
    out.push('');
    for (const note of report.notes) out.push(`- ${note}`);
    out.push('');
  }
  return out.join('\n');
}

export function writeReport(dir: string, report: Report): { json: string; stamped: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const text = `${JSON.stringify(report, null, 2)}\n`;
  const stampedName = `bench-${report.startedAt.replace(/[:.]/g, '-')}.json`;
  const json = path.join(dir, 'latest.json');
  const stamped = path.join(dir, stampedName);
  const md = path.join(dir, 'latest.md');
  // Write then rename, so a reader never sees half a file.
  for (const [file, content] of [
    [json, text],
    [stamped, text],
    [md, markdown(report)],
  ] as const) {
    writeFileSync(`${file}.tmp`, content);
    renameSync(`${file}.tmp`, file);
  }
  return { json, stamped, md };
}
