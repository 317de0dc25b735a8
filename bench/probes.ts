/**
 * What the bench reads around each run: the server's Prometheus text (GET /metrics, when it has
 * one), Redis INFO commandstats and cpu (through a separate client), and /proc for the server pid.
 * Anything missing reads as null, never as zero.
 */
import type { Redis } from 'ioredis';
import { cpuSeconds, cpuSecondsOfCommand, machineBusySeconds } from './processes.js';

export const SQL_METRIC = 'kitvault_sql_statements_total';
/** A write's drop published → applied by every instance's in-process layers (histogram, seconds). */
export const L1_DROP_METRIC = 'kitvault_l1_drop_delivery_seconds';
export const L1_UNACKNOWLEDGED_METRIC = 'kitvault_l1_drop_unacknowledged_total';
export const RC_METRIC = 'kitvault_response_cache_requests_total';
/** Misses that joined an identical miss already executing, if the server exports such a counter (any name like this). */
export const COALESCED_METRIC = /^kitvault_response_cache_.*coalesc.*$/;

export type Samples = Map<string, { labels: Record<string, string>; value: number }[]>;

/** Prometheus text exposition → samples by metric name (families declared by `# TYPE` included, maybe empty). */
export function parsePrometheus(text: string): Samples {
  const out: Samples = new Map();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    if (line.startsWith('#')) {
      // A declared family with no samples yet (a counter nothing has incremented) still exists.
      const declared = /^#\s*TYPE\s+([a-zA-Z_:][a-zA-Z0-9_:]*)\s/.exec(line);
      if (declared && !out.has(declared[1]!)) out.set(declared[1]!, []);
      continue;
    }
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+\d+)?$/.exec(line);
    if (!match) continue;
    const [, name, , labelText, valueText] = match;
    const labels: Record<string, string> = {};
    if (labelText) {
      for (const m of labelText.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]!] = m[2]!;
    }
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
    if (Number.isNaN(value)) continue;
    const list = out.get(name!) ?? [];
    list.push({ labels, value });
    out.set(name!, list);
  }
  return out;
}

/** Sum of a metric's samples whose labels include `where`; null when no such sample exists. */
export function metricValue(samples: Samples | null, name: string, where: Record<string, string> = {}): number | null {
  if (!samples) return null;
  const list = samples.get(name);
  if (!list) return null;
  let total = 0;
  let found = false;
  for (const sample of list) {
    if (Object.entries(where).every(([k, v]) => sample.labels[k] === v)) {
      total += sample.value;
      found = true;
    }
  }
  return found ? total : null;
}

/** GET /metrics; null when the server has none (404, not Prometheus text, unreachable). */
export async function scrape(port: number): Promise<Samples | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
    const text = await response.text();
    if (response.status !== 200) return null;
    const samples = parsePrometheus(text);
    return samples.size > 0 ? samples : null;
  } catch {
    return null;
  }
}

export type RedisStats = { calls: Record<string, number>; cpuSeconds: number };

/** INFO commandstats (calls per command; INFO itself left out, it is ours) and INFO cpu. */
export async function redisStats(redis: Redis): Promise<RedisStats> {
  const [commandstats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  const calls: Record<string, number> = {};
  for (const m of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (m[1] === 'info') continue;
    calls[m[1]!] = Number(m[2]);
  }
  const num = (key: string) => Number(new RegExp(`^${key}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  return { calls, cpuSeconds: num('used_cpu_sys') + num('used_cpu_user') };
}

export type Snapshot = {
  at: number;
  metrics: Samples | null;
  redis: RedisStats;
  serverCpu: number | null;
  harnessCpu: number;
  machineBusy: number | null;
  postgresCpu: number;
};

/** Several servers' samples as one: their counters add up (metricValue sums the samples it finds). */
function mergeSamples(all: readonly (Samples | null)[]): Samples | null {
  if (all.some((s) => s === null)) return null;
  const out: Samples = new Map();
  for (const samples of all as Samples[])
    for (const [name, list] of samples) out.set(name, [...(out.get(name) ?? []), ...list]);
  return out;
}

/**
 * Counters around a run. A server may be several processes (instances behind a balancer): their
 * CPU adds up, and so do the /metrics of every port in `port`.
 */
export async function snapshot(
  redis: Redis,
  serverPid: number | readonly number[],
  port: number | readonly number[],
): Promise<Snapshot> {
  const ports = typeof port === 'number' ? [port] : port;
  const pids = typeof serverPid === 'number' ? [serverPid] : serverPid;
  const [scraped, stats] = await Promise.all([Promise.all(ports.map(scrape)), redisStats(redis)]);
  const metrics = mergeSamples(scraped);
  const usage = process.cpuUsage();
  const cpus = pids.map(cpuSeconds);
  return {
    at: performance.now(),
    metrics,
    redis: stats,
    serverCpu: cpus.some((c) => c === null) ? null : cpus.reduce<number>((a, c) => a + c!, 0),
    harnessCpu: (usage.user + usage.system) / 1e6,
    machineBusy: machineBusySeconds(),
    postgresCpu: cpuSecondsOfCommand('postgres'),
  };
}

export type Deltas = {
  seconds: number;
  sqlStatements: number | null;
  cacheHits: number | null;
  cacheMisses: number | null;
  /** Misses that did not execute (joined an identical one in flight); null when not exported. */
  cacheCoalesced: number | null;
  redisCalls: number;
  redisCallsByCommand: Record<string, number>;
  redisCpuPercent: number;
  serverCpuPercent: number | null;
  harnessCpuPercent: number;
  postgresCpuPercent: number;
  /** The whole machine's busy CPU, as % of one core. */
  machineCpuPercent: number | null;
  /** What the machine spent beyond the server, the load generator, Redis and Postgres: other tenants' noise. */
  otherCpuPercent: number | null;
  /** The writes' drops to the in-process layers during the run; null when the server exports none. */
  l1Drops: L1Drops | null;
};

/** Drop deliveries in a run: how many, their p50 and p99 as histogram bucket bounds, and how many waited out. */
export type L1Drops = { count: number; p50Ms: number | null; p99Ms: number | null; unacknowledged: number };

/**
 * The smallest bucket bound under which at least `q` of the observations fell (a histogram tells no
 * more); Infinity when they are only in +Inf; null without observations.
 */
function quantileBound(buckets: readonly [number, number][], count: number, q: number): number | null {
  if (count <= 0) return null;
  for (const [le, cumulative] of buckets) if (cumulative >= q * count) return le;
  return Infinity;
}

function l1DropsBetween(before: Samples | null, after: Samples | null): L1Drops | null {
  const name = `${L1_DROP_METRIC}_bucket`;
  if (!before || !after?.has(name)) return null;
  const bounds = [...new Set((after.get(name) ?? []).map((s) => s.labels.le!))];
  const buckets = bounds
    .map((le): [number, number] => {
      const d = (metricValue(after, name, { le }) ?? 0) - (metricValue(before, name, { le }) ?? 0);
      return [le === '+Inf' ? Infinity : Number(le), d];
    })
    .sort((a, b) => a[0] - b[0]);
  const count = buckets.at(-1)?.[1] ?? 0;
  const toMs = (v: number | null) => (v === null || !Number.isFinite(v) ? v : v * 1000);
  return {
    count,
    p50Ms: toMs(quantileBound(buckets, count, 0.5)),
    p99Ms: toMs(quantileBound(buckets, count, 0.99)),
    unacknowledged:
      (metricValue(after, L1_UNACKNOWLEDGED_METRIC) ?? 0) - (metricValue(before, L1_UNACKNOWLEDGED_METRIC) ?? 0),
  };
}

export function delta(before: Snapshot, after: Snapshot): Deltas {
  const seconds = (after.at - before.at) / 1000;
  // A counter family the server exports but has not incremented for these labels counts as 0;
  // a family (or a /metrics endpoint) that is not there at all is null.
  const diff = (name: string, where?: Record<string, string>) => {
    if (!after.metrics?.has(name) || !before.metrics) return null;
    return (metricValue(after.metrics, name, where) ?? 0) - (metricValue(before.metrics, name, where) ?? 0);
  };
  const coalescedName = after.metrics
    ? [...after.metrics.keys()].find((name) => COALESCED_METRIC.test(name))
    : undefined;
  const byCommand: Record<string, number> = {};
  let redisCalls = 0;
  for (const [command, calls] of Object.entries(after.redis.calls)) {
    const d = calls - (before.redis.calls[command] ?? 0);
    if (d > 0) {
      byCommand[command] = d;
      redisCalls += d;
    }
  }
  const percent = (a: number, b: number) => (100 * (a - b)) / seconds;
  const serverCpuPercent =
    after.serverCpu === null || before.serverCpu === null ? null : percent(after.serverCpu, before.serverCpu);
  const harnessCpuPercent = percent(after.harnessCpu, before.harnessCpu);
  const redisCpuPercent = percent(after.redis.cpuSeconds, before.redis.cpuSeconds);
  const postgresCpuPercent = percent(after.postgresCpu, before.postgresCpu);
  const machineCpuPercent =
    after.machineBusy === null || before.machineBusy === null ? null : percent(after.machineBusy, before.machineBusy);
  return {
    seconds,
    sqlStatements: diff(SQL_METRIC),
    cacheHits: diff(RC_METRIC, { result: 'hit' }),
    cacheMisses: diff(RC_METRIC, { result: 'miss' }),
    cacheCoalesced: coalescedName ? diff(coalescedName) : null,
    redisCalls,
    redisCallsByCommand: byCommand,
    redisCpuPercent,
    serverCpuPercent,
    harnessCpuPercent,
    postgresCpuPercent,
    machineCpuPercent,
    l1Drops: l1DropsBetween(before.metrics, after.metrics),
    otherCpuPercent:
      machineCpuPercent === null
        ? null
        : Math.max(
            0,
            machineCpuPercent - (serverCpuPercent ?? 0) - harnessCpuPercent - redisCpuPercent - postgresCpuPercent,
          ),
  };
}
