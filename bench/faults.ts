/**
 * The fault scenario: what a Redis outage and a Postgres outage cost, beside the healthy figures.
 *
 * One more server process of the measured build (both caches on, its own Redis prefix) whose links
 * to Redis and to Postgres go through TCP proxies the bench starts itself (bench/proxy-server.ts,
 * a child process on loopback ports). A steady read load (the mixed workload's reads over the same
 * Zipf spread, plus a share of club searches for words never asked before, which only Postgres can
 * answer) runs through consecutive phases of equal length:
 *
 *   1 healthy · 2 Redis cut · 3 Redis held (black hole) · 4 Postgres cut · 5 Postgres held ·
 *   6 healthy again
 *
 * A fault is healed in a `finally` right after its phase; then the bench waits (bounded) until the
 * server caches again (a repeated query answers `x-cache: HIT`) and Postgres answers again (a
 * never-seen query answers with data), and reports how long each took after the heal. The proxy
 * process and the server are stopped at the end of the step, and by the run's cleanup on errors
 * and Ctrl-C like every other child.
 */
import type autocannon from 'autocannon';
import path from 'node:path';
import type { Dataset } from './dataset.js';
import type { Keys } from './keys.js';
import { log, sleep } from './log.js';
import { cannon } from './measure.js';
import { metricValue, RC_METRIC, scrape, SQL_METRIC } from './probes.js';
import { childEnv, cpuSeconds, freePort, logTail, start, stop, waitReady, type Server } from './processes.js';
import type { FaultLink, FaultPhase, FaultPhaseKey, Faults, QueryTally } from './report.js';
import {
  body,
  CLUB_KITS_QUERY,
  GRAPHQL_PATH,
  headers,
  KIT_QUERY,
  KITS_BY_CLUB_QUERY,
  prng,
  zipf,
} from './scenarios.js';
import { SERVER_NODE_FLAGS } from './servers.js';

/** The never-seen queries: a club search for a word nobody asked before (a miss only Postgres can answer). */
export const CLUB_SEARCH_QUERY =
  'query ClubSearch($text: String!) { clubs(search: $text, first: 5) { edges { node { id name } } } }';

/** Share of requests that are never-seen queries; the rest are the mixed workload's reads. */
const NEVER_SEEN_SHARE = 0.1;
/**
 * How long autocannon waits for one answer before counting a timeout (and reconnecting). Above
 * what the server's own bounds add up to (REDIS_TIMEOUT_MS 500 and DATABASE_TIMEOUT_MS 2000 by
 * default), so that a server that bounds its waits answers before the bench gives up.
 */
const REQUEST_TIMEOUT_S = 5;
/** How long to wait, after a heal, for the server to cache (and Postgres to answer) again. */
const RECOVERY_LIMIT_MS = 30_000;
const POLL_MS = 50;
const SETTLE_MS = 150;

const PHASES: { key: FaultPhaseKey; label: string; fault: { link: FaultLink; mode: 'cut' | 'hold' } | null }[] = [
  { key: 'healthy', label: 'healthy (through the proxies)', fault: null },
  { key: 'redisCut', label: 'Redis cut (connections reset)', fault: { link: 'redis', mode: 'cut' } },
  { key: 'redisHeld', label: 'Redis held (black hole)', fault: { link: 'redis', mode: 'hold' } },
  { key: 'postgresCut', label: 'Postgres cut (connections reset)', fault: { link: 'postgres', mode: 'cut' } },
  { key: 'postgresHeld', label: 'Postgres held (black hole)', fault: { link: 'postgres', mode: 'hold' } },
  { key: 'recovered', label: 'healthy again (all healed)', fault: null },
];

export type FaultSetup = {
  root: string;
  mainJs: string;
  databaseUrl: string;
  redisUrl: string;
  keys: Keys;
  logDir: string;
  dataset: Dataset;
  phaseS: number;
  connections: number;
  zipfS: number;
};

// ---------------------------------------------------------------- the proxies

type Proxies = {
  process: Server;
  redisPort: number;
  postgresPort: number;
  set(link: FaultLink, action: 'cut' | 'hold' | 'heal'): Promise<void>;
};

/** host and port of a redis:// or postgres:// URL, for the proxy to connect to. */
function hostPort(url: string, defaultPort: number): string {
  const u = new URL(url);
  return `${u.hostname.replace(/^\[|\]$/g, '')}:${u.port || defaultPort}`;
}

/** The same URL, through the proxy on 127.0.0.1:port. */
function viaProxy(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

async function startProxies(setup: FaultSetup): Promise<Proxies> {
  const controlPort = await freePort();
  const child = start({
    name: 'fault-proxies',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(setup.root, 'bench', 'proxy-server.ts')],
    env: childEnv({
      PORT: String(controlPort),
      REDIS_TARGET: hostPort(setup.redisUrl, 6379),
      POSTGRES_TARGET: hostPort(setup.databaseUrl, 5432),
      NODE_ENV: 'production',
    }),
    cwd: setup.root,
    logDir: setup.logDir,
    port: controlPort,
  });
  await waitReady(child);
  const control = async (method: 'GET' | 'POST', pathname: string) => {
    const response = await fetch(`http://127.0.0.1:${controlPort}${pathname}`, {
      method,
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`proxy control ${method} ${pathname}: ${response.status} ${text}`);
    return JSON.parse(text) as Record<FaultLink, { port: number; mode: string; connections: number }>;
  };
  const state = await control('GET', '/state');
  return {
    process: child,
    redisPort: state.redis.port,
    postgresPort: state.postgres.port,
    set: async (link, action) => {
      await control('POST', `/${link}/${action}`);
    },
  };
}

// ---------------------------------------------------------------- the load

type Kind = 'zipfReads' | 'neverSeen';

type Tally = {
  byKind: Record<Kind, { sent: number; answered: number; ok: number; non2xx: number; graphqlErrors: number }>;
  xCache: Record<string, number>;
  errorCodes: Record<string, number>;
  errorSamples: string[];
};

const newTally = (): Tally => ({
  byKind: {
    zipfReads: { sent: 0, answered: 0, ok: 0, non2xx: 0, graphqlErrors: 0 },
    neverSeen: { sent: 0, answered: 0, ok: 0, non2xx: 0, graphqlErrors: 0 },
  },
  xCache: {},
  errorCodes: {},
  errorSamples: [],
});

let neverSeenCounter = 0;
/** A search text nobody asked before (unique within this run and, by the pid and time, across runs). */
const neverSeenText = () => `nv${process.pid}t${Date.now().toString(36)}n${(neverSeenCounter++).toString(36)}`;

function header(headerMap: Record<string, unknown>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headerMap)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? String(value[0]) : String(value);
  }
  return undefined;
}

/**
 * The fault load: the mixed workload's reads (kit 50 : club kits 25 : kits by club 20, over the
 * same Zipf spread), and NEVER_SEEN_SHARE of club searches for new words. Each answer is counted in
 * `tally` by kind: 2xx with data, non-2xx, 2xx whose JSON has `errors` (and their codes), and its
 * `x-cache` header.
 */
function faultWorkload(dataset: Dataset, zipfS: number, seed: number, tally: Tally): autocannon.Request[] {
  const random = prng(seed);
  const kits = zipf(dataset.kitIds, zipfS, 1001);
  const clubs = zipf(dataset.clubIds, zipfS, 2002);
  return [
    {
      method: 'POST',
      path: GRAPHQL_PATH,
      // With one request in the list, autocannon gives each request a fresh context and hands the
      // same context to its onResponse (pipelining 1): the kind travels with it.
      setupRequest: (request, context) => {
        const ctx = context as { kind?: Kind };
        const u = random();
        let text: string;
        if (u < NEVER_SEEN_SHARE) {
          ctx.kind = 'neverSeen';
          text = body(CLUB_SEARCH_QUERY, { text: neverSeenText() });
        } else {
          ctx.kind = 'zipfReads';
          const share = (u - NEVER_SEEN_SHARE) / (1 - NEVER_SEEN_SHARE);
          if (share < 0.5 / 0.95) text = body(KIT_QUERY, { id: String(kits.next(random)) });
          else if (share < 0.75 / 0.95) text = body(CLUB_KITS_QUERY, { id: String(clubs.next(random)) });
          else text = body(KITS_BY_CLUB_QUERY, { clubId: String(clubs.next(random)) });
        }
        // Built right before it is written (and the first one at connect): built is sent.
        tally.byKind[ctx.kind].sent += 1;
        return { ...request, headers: headers(), body: text };
      },
      onResponse: (status, responseBody, context, responseHeaders) => {
        const kind = (context as { kind?: Kind }).kind ?? 'zipfReads';
        const counts = tally.byKind[kind];
        counts.answered += 1;
        const mark = header((responseHeaders ?? {}) as Record<string, unknown>, 'x-cache') ?? 'none';
        tally.xCache[mark] = (tally.xCache[mark] ?? 0) + 1;
        const hasErrors = responseBody.includes('"errors"');
        if (status < 200 || status > 299) counts.non2xx += 1;
        else if (hasErrors) counts.graphqlErrors += 1;
        else counts.ok += 1;
        if (status < 200 || status > 299 || hasErrors) {
          const codes = [...responseBody.matchAll(/"code"\s*:\s*"([^"]+)"/g)].map((m) => m[1]!);
          for (const code of codes.length ? codes : [`HTTP ${status}`])
            tally.errorCodes[code] = (tally.errorCodes[code] ?? 0) + 1;
          if (tally.errorSamples.length < 3) tally.errorSamples.push(`${status} ${responseBody.slice(0, 300)}`);
        }
      },
    },
  ];
}

// ---------------------------------------------------------------- the server's counters

type Counters = {
  hits: number | null;
  misses: number | null;
  sql: number | null;
  redisErrors: number | null;
  shortCircuits: number | null;
  cpu: number | null;
  at: number;
};

async function counters(server: Server): Promise<Counters> {
  const samples = await scrape(server.port);
  return {
    hits: metricValue(samples, RC_METRIC, { result: 'hit' }),
    misses: metricValue(samples, RC_METRIC, { result: 'miss' }),
    sql: metricValue(samples, SQL_METRIC),
    // A family the server declares but has not incremented yet reads as 0; an absent one as null.
    redisErrors: samples?.has('kitvault_redis_errors_total')
      ? (metricValue(samples, 'kitvault_redis_errors_total') ?? 0)
      : null,
    shortCircuits: samples?.has('kitvault_redis_short_circuits_total')
      ? (metricValue(samples, 'kitvault_redis_short_circuits_total') ?? 0)
      : null,
    cpu: cpuSeconds(server.pid),
    at: performance.now(),
  };
}

const minus = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);

// ---------------------------------------------------------------- probes between phases

type Answer = { status: number; xCache: string | null; ok: boolean };

async function ask(port: number, payload: string): Promise<Answer> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${GRAPHQL_PATH}`, {
      method: 'POST',
      headers: headers(),
      body: payload,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_S * 1000),
    });
    const text = await response.text();
    return {
      status: response.status,
      xCache: response.headers.get('x-cache'),
      ok: response.status === 200 && !text.includes('"errors"') && text.includes('"data"'),
    };
  } catch {
    return { status: 0, xCache: null, ok: false };
  }
}

/** Seconds from `since` until `check` holds, polled every POLL_MS; null when it did not within RECOVERY_LIMIT_MS. */
async function secondsUntil(since: number, check: () => Promise<boolean>): Promise<number | null> {
  while (performance.now() - since < RECOVERY_LIMIT_MS) {
    if (await check()) return (performance.now() - since) / 1000;
    await sleep(POLL_MS);
  }
  return null;
}

// ---------------------------------------------------------------- the step

const rate = (bad: number, all: number) => (all > 0 ? bad / all : null);

function kindTally(t: Tally['byKind'][Kind]): QueryTally {
  return { ...t, errorRate: rate(t.non2xx + t.graphqlErrors, t.answered) };
}

export async function runFaults(setup: FaultSetup): Promise<Faults> {
  const { dataset, phaseS, connections, zipfS } = setup;
  const faults: Faults = {
    phaseS,
    warmupS: phaseS,
    requestTimeoutS: REQUEST_TIMEOUT_S,
    connections,
    neverSeenShare: NEVER_SEEN_SHARE,
    server: null,
    phases: [],
    error: null,
  };
  let proxies: Proxies | null = null;
  let server: Server | null = null;
  try {
    proxies = await startProxies(setup);
    const port = await freePort();
    server = start({
      name: 'server-faults',
      command: process.execPath,
      args: [...SERVER_NODE_FLAGS, setup.mainJs],
      env: childEnv({
        DATABASE_URL: viaProxy(setup.databaseUrl, proxies.postgresPort),
        REDIS_URL: viaProxy(setup.redisUrl, proxies.redisPort),
        REDIS_PREFIX: setup.keys.faults,
        PORT: String(port),
        HOST: '127.0.0.1',
        RESPONSE_CACHE: 'on',
        ENTITY_CACHE: 'on',
        CACHE_DEBUG: 'off',
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      }),
      cwd: setup.root,
      logDir: setup.logDir,
      port,
    });
    await waitReady(server);
    faults.server = {
      pid: server.pid,
      port,
      redisProxyPort: proxies.redisPort,
      postgresProxyPort: proxies.postgresPort,
    };
    log(
      `faults: server :${port} pid ${server.pid}, Redis through :${proxies.redisPort}, Postgres through :${proxies.postgresPort} ` +
        `(proxies pid ${proxies.process.pid}); ${PHASES.length} phases of ${phaseS} s after a ${phaseS} s warm-up`,
    );

    // The repeated query that tells the server caches: asked until it is a hit (a miss fills it).
    const probe = body(KIT_QUERY, { id: String(dataset.kitIds[0]) });
    const cached = (a: Answer) => a.xCache === 'HIT' || a.xCache === 'STALE';
    await ask(port, probe);
    const hasXCache = cached(await ask(port, probe));
    if (!hasXCache) log('faults: the server does not answer x-cache: HIT for a repeated query: no caching-again times');
    let seed = 7000 + Math.floor(Math.random() * 1e6);
    const load = (tally: Tally) => ({ port, requests: faultWorkload(dataset, zipfS, seed++, tally) });
    await cannon(load(newTally()), phaseS, connections, REQUEST_TIMEOUT_S);
    await sleep(SETTLE_MS);

    for (const [i, phase] of PHASES.entries()) {
      const tally = newTally();
      const before = await counters(server);
      let result: autocannon.Result;
      let after: Counters;
      try {
        if (phase.fault) await proxies.set(phase.fault.link, phase.fault.mode);
        result = await cannon(load(tally), phaseS, connections, REQUEST_TIMEOUT_S);
        after = await counters(server);
      } finally {
        // Healed whatever happened; a heal that fails fails the step (and cleanup stops the proxies).
        if (phase.fault) await proxies.set(phase.fault.link, 'heal');
      }
      const healedAt = performance.now();
      let recovery: FaultPhase['recovery'] = null;
      if (phase.fault) {
        const [cachingAgainS, databaseAgainS] = await Promise.all([
          hasXCache ? secondsUntil(healedAt, async () => cached(await ask(port, probe))) : Promise.resolve(null),
          secondsUntil(healedAt, async () => (await ask(port, body(CLUB_SEARCH_QUERY, { text: neverSeenText() }))).ok),
        ]);
        recovery = { cachingAgainS, databaseAgainS };
      }

      const zipfReads = kindTally(tally.byKind.zipfReads);
      const neverSeen = kindTally(tally.byKind.neverSeen);
      const answered = zipfReads.answered + neverSeen.answered;
      const non2xx = zipfReads.non2xx + neverSeen.non2xx;
      const graphqlErrors = zipfReads.graphqlErrors + neverSeen.graphqlErrors;
      const hits = minus(after.hits, before.hits);
      const misses = minus(after.misses, before.misses);
      const sql = minus(after.sql, before.sql);
      const cpu = minus(after.cpu, before.cpu);
      const seconds = (after.at - before.at) / 1000;
      const sent = result.requests.sent ?? answered + result.errors;
      // Requests that ended (answered or failed): a request that timed out may have run SQL too.
      const ended = answered + result.errors;
      const record: FaultPhase = {
        n: i + 1,
        key: phase.key,
        label: phase.label,
        fault: phase.fault,
        durationS: result.duration,
        sent,
        answered,
        requestsPerSecond: result.duration > 0 ? answered / result.duration : 0,
        latencyP50Ms: answered > 0 ? result.latency.p50 : null,
        latencyP99Ms: answered > 0 ? result.latency.p99 : null,
        latencyMaxMs: answered > 0 ? result.latency.max : null,
        non2xx,
        graphqlErrors,
        timeouts: result.timeouts,
        connectionErrors: result.errors - result.timeouts,
        inFlightAtEnd: Math.max(0, sent - answered - result.errors),
        errorRate: rate(non2xx + graphqlErrors + result.errors, ended),
        byQuery: { zipfReads, neverSeen },
        errorCodes: tally.errorCodes,
        errorSamples: tally.errorSamples,
        xCache: tally.xCache,
        hitRate: hits !== null && misses !== null && hits + misses > 0 ? hits / (hits + misses) : null,
        sqlPerRequest: sql === null || ended === 0 ? null : sql / ended,
        redisErrors: minus(after.redisErrors, before.redisErrors),
        redisShortCircuits: minus(after.shortCircuits, before.shortCircuits),
        serverCpuPercent: cpu === null || seconds <= 0 ? null : (100 * cpu) / seconds,
        recovery,
      };
      faults.phases.push(record);
      logPhase(record);

      if (server.process.exitCode !== null || server.process.signalCode !== null) {
        throw new Error(`the fault server exited during phase ${record.n} (${record.label}):\n${logTail(server)}`);
      }
      await sleep(SETTLE_MS);
    }
  } catch (error) {
    faults.error = error instanceof Error ? error.message : String(error);
    log(`faults: FAILED: ${faults.error}`);
  } finally {
    if (server) await stop(server);
    if (proxies) await stop(proxies.process);
  }
  return faults;
}

const fmt = (v: number | null, digits = 0) => (v === null ? 'null' : v.toFixed(digits));
const pct = (v: number | null) => (v === null ? 'null' : `${(v * 100).toFixed(1)}%`);

function logPhase(p: FaultPhase): void {
  const codes = Object.entries(p.errorCodes)
    .map(([code, n]) => `${code} ×${n}`)
    .join(', ');
  log(
    `faults (${p.n}) ${p.label}: ${p.requestsPerSecond.toFixed(0)} req/s, p50 ${fmt(p.latencyP50Ms)} ms, p99 ${fmt(p.latencyP99Ms)} ms, ` +
      `non-2xx ${p.non2xx}, 2xx with errors ${p.graphqlErrors}, timeouts ${p.timeouts}, conn. errors ${p.connectionErrors}, in flight at the end ${p.inFlightAtEnd}; ` +
      `error rate ${pct(p.errorRate)}; answered with data/sent: never-seen ${p.byQuery.neverSeen.ok}/${p.byQuery.neverSeen.sent}, Zipf reads ${p.byQuery.zipfReads.ok}/${p.byQuery.zipfReads.sent}; ` +
      `hit rate ${pct(p.hitRate)}, SQL/req ${fmt(p.sqlPerRequest, 3)}, Redis errors ${fmt(p.redisErrors)}, short circuits ${fmt(p.redisShortCircuits)}, ` +
      `x-cache ${JSON.stringify(p.xCache)}` +
      (codes ? `; codes: ${codes}` : '') +
      (p.recovery
        ? `; after the heal: caching again in ${fmt(p.recovery.cachingAgainS, 2)} s, Postgres answering in ${fmt(p.recovery.databaseAgainS, 2)} s`
        : ''),
  );
  for (const sample of p.errorSamples) log(`  sample: ${sample}`);
}
