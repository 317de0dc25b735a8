/**
 * Measuring: one scenario run (prime, warm-up, autocannon, the server's and machine's counters
 * before and after, the answer check) and the rounds that interleave every scenario.
 */
import autocannon from 'autocannon';
import type { Redis } from 'ioredis';
import { log, sleep } from './log.js';
import type { Settings } from './options.js';
import { delta, snapshot, type Deltas } from './probes.js';
import { rssMiB, type Server } from './processes.js';
import { ratios, SCENARIOS, type Ratio, type RatioDefinition, type RunResult, type ScenarioKey } from './report.js';
import { GRAPHQL_PATH, headers } from './scenarios.js';

/** Pause before and after each measured run (in-flight requests finish, sockets close). */
const SETTLE_MS = 150;

export type Load = {
  port: number;
  /** A fixed body, or generated requests. */
  body?: string;
  requests?: autocannon.Request[];
};

export type Target = {
  key: ScenarioKey;
  server: Server;
  /**
   * When the server is several processes (instances behind a balancer): every pid whose CPU and
   * memory count, and the ports whose /metrics add up. Default: the server's own.
   */
  processes?: { pids: readonly number[]; metricsPorts: readonly number[] };
  load: () => Load;
  /** Before the warm-up: make sure what a "hit" scenario measures is in the cache. */
  prime?: () => Promise<void>;
  after?: (run: RunResult) => Promise<void>;
};

/** What a run needs besides its target: how long and how hard, and Redis to read its counters. */
export type MeasureSettings = Pick<Settings, 'warmupS' | 'durationS' | 'connections'> & { redis: Redis };

/** The autocannon instance running now, so that cleanup can stop it. */
let current: autocannon.Instance | null = null;

export function stopLoad(): void {
  try {
    current?.stop();
  } catch {
    /* not running */
  }
}

/** autocannon for `seconds` (stoppable by stopLoad); `timeoutS`: how long one request may go unanswered. */
export function cannon(load: Load, seconds: number, connections: number, timeoutS = 10): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const options: autocannon.Options = {
      url: `http://127.0.0.1:${load.port}${GRAPHQL_PATH}`,
      method: 'POST',
      headers: headers(),
      connections,
      pipelining: 1,
      duration: seconds,
      timeout: timeoutS,
    };
    if (load.body !== undefined) options.body = load.body;
    if (load.requests) options.requests = load.requests;
    current = autocannon(options, (error, result) => {
      current = null;
      if (error) reject(error instanceof Error ? error : new Error(String(error)));
      else resolve(result);
    });
  });
}

const sumOrNull = (values: readonly (number | null)[]): number | null =>
  values.some((v) => v === null) ? null : values.reduce<number>((a, v) => a + v!, 0);

export async function measure(target: Target, round: number, settings: MeasureSettings): Promise<RunResult> {
  const scenario = SCENARIOS.find((s) => s.key === target.key);
  if (!scenario) throw new Error(`no scenario ${target.key}`);
  const { redis } = settings;
  const port = target.server.port;
  const pids = target.processes?.pids ?? [target.server.pid];
  const metricsPorts = target.processes?.metricsPorts ?? [port];
  if (target.prime) await target.prime();
  if (settings.warmupS > 0) await cannon(target.load(), settings.warmupS, settings.connections);
  await sleep(SETTLE_MS);
  const load = target.load();
  const before = await snapshot(redis, pids, metricsPorts);
  const result = await cannon(load, settings.durationS, settings.connections);
  // Requests still in flight when autocannon stops reach the server all the same: let them finish,
  // and count them (requests.sent) in the per-request costs.
  await sleep(SETTLE_MS);
  const after = await snapshot(redis, pids, metricsPorts);
  const d: Deltas = delta(before, after);
  const requests = result.requests.total;
  const served = Math.max(requests, result.requests.sent ?? 0);
  const perRequest = (n: number | null) => (n === null || served === 0 ? null : n / served);
  const byCommand: Record<string, number> = {};
  for (const [command, calls] of Object.entries(d.redisCallsByCommand))
    byCommand[command] = served ? calls / served : 0;
  const run: RunResult = {
    scenario: scenario.n,
    key: target.key,
    round,
    durationS: result.duration,
    requests,
    requestsPerSecond: result.duration > 0 ? requests / result.duration : 0,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyAvgMs: result.latency.average,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    hits: d.cacheHits,
    misses: d.cacheMisses,
    hitRate:
      d.cacheHits !== null && d.cacheMisses !== null && d.cacheHits + d.cacheMisses > 0
        ? d.cacheHits / (d.cacheHits + d.cacheMisses)
        : null,
    sqlPerRequest: perRequest(d.sqlStatements),
    redisCallsPerRequest: served ? d.redisCalls / served : 0,
    redisCallsPerRequestByCommand: byCommand,
    redisCpuPercent: d.redisCpuPercent,
    serverCpuPercent: d.serverCpuPercent,
    serverRssMiB: sumOrNull(pids.map(rssMiB)),
    loadgenCpuPercent: d.harnessCpuPercent,
    postgresCpuPercent: d.postgresCpuPercent,
    machineCpuPercent: d.machineCpuPercent,
    otherCpuPercent: d.otherCpuPercent,
    l1Drops: d.l1Drops,
    answer: null,
  };
  if (target.after) await target.after(run);
  const fmt = (v: number | null, digits = 0) => (v === null ? 'null' : v.toFixed(digits));
  log(
    `round ${round} (${scenario.n}) ${scenario.label}: ${run.requestsPerSecond.toFixed(0)} req/s, p50 ${run.latencyP50Ms} ms, p99 ${run.latencyP99Ms} ms, ` +
      `err ${run.errors} (timeouts ${run.timeouts}), non-2xx ${run.non2xx}, hit ${run.hitRate === null ? 'null' : (run.hitRate * 100).toFixed(1) + '%'}, ` +
      `SQL/req ${fmt(run.sqlPerRequest, 3)}, Redis/req ${run.redisCallsPerRequest.toFixed(2)}, CPU ${fmt(run.serverCpuPercent)}%, ` +
      `RSS ${fmt(run.serverRssMiB)} MiB, load-gen CPU ${run.loadgenCpuPercent.toFixed(0)}%, Postgres ${run.postgresCpuPercent.toFixed(0)}%, other ${fmt(run.otherCpuPercent)}%` +
      (run.l1Drops?.count
        ? `, L1 drops ${run.l1Drops.count} (p99 ≤ ${fmt(run.l1Drops.p99Ms)} ms, ${run.l1Drops.unacknowledged} waited out)`
        : '') +
      (run.answer === 'different'
        ? ' — ANSWER CHECK FAILED'
        : run.answer === 'list-order'
          ? ' — answer differs in list order'
          : ''),
  );
  return run;
}

/**
 * A round's order. Targets come in groups: a scenario alone, or a scenario and what it is compared
 * with (its baseline-build twin, its HAProxy variant, 4y), run back to back so that they see the
 * same machine. A group's order alternates from round to round, so that neither side of a pair
 * always runs right after the other's load.
 */
export function roundOrder(groups: readonly (readonly Target[])[], round: number): Target[] {
  return groups.flatMap((group) => (round % 2 === 0 ? [...group].reverse() : [...group]));
}

export type Rounds = { runs: RunResult[]; roundRatios: { round: number; ratios: Ratio[] }[] };

/** Every scenario once per round, interleaved, and each round's ratios (its scenarios ran side by side). */
export async function runRounds(
  groups: readonly (readonly Target[])[],
  rounds: number,
  definitions: readonly RatioDefinition[],
  settings: MeasureSettings,
): Promise<Rounds> {
  const runs: RunResult[] = [];
  const roundRatios: Rounds['roundRatios'] = [];
  for (let round = 1; round <= rounds; round++) {
    const mine: RunResult[] = [];
    for (const target of roundOrder(groups, round)) {
      mine.push(await measure(target, round, settings));
    }
    runs.push(...mine);
    const rs = ratios(Object.fromEntries(mine.map((r) => [r.key, r.requestsPerSecond])), definitions);
    roundRatios.push({ round, ratios: rs });
    log(
      `round ${round} ratios: ${rs.map((r) => `${r.name} ${r.value === null ? 'null' : r.value.toFixed(2)}`).join(' · ')}`,
    );
  }
  return { runs, roundRatios };
}
