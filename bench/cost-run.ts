/**
 * `npm run bench:cost [-- --seconds 6 --rounds 2 --kinds hit,rename --cpu-prof | --against <main.js> --no-build]`: what one kind of request costs the
 * server, in CPU per request, each kind alone under load (50 connections). Where `bench:profile`
 * says where a mix's CPU goes by function, this says which requests spend it: in a mixed workload a
 * kind's share of the server is its count times its cost here.
 *
 * One server (both caches on) on its own database (kitvault_cost, seeded) and Redis prefix
 * (kvcost:<pid>:this:; with --against, the other on kitvault_cost_against and kvcost:<pid>:against:),
 * driven with each kind in turn, every kind once per round; the server's CPU is utime+stime from
 * /proc (its worker threads and GC included) over the requests answered:
 *  - hit: the Kit query over 200 kits read before (answered by the lean hit);
 *  - miss: the same, each request with a variable no operation declares, so every one is a new
 *    response-cache key over warm entities (a response miss through yoga, entities from memory);
 *  - first read: the Kit query over kits not read since every cache was purged (response and entity
 *    misses, one SQL read each);
 *  - rename: the mixed workload's renames, over kits no other kind reads;
 *  - mixed: scenario 6's workload (95 % Zipf reads, 5 % renames);
 *  - reads: the same reads without the renames, over the caches the mix left;
 *  - mixed from cold, reads from cold: both again from purged caches, as scenario 6 starts in
 *    `npm run bench` (their difference is what the renames cost a cold mix, re-reads included).
 * Beside each kind's CPU: the response cache's hit rate, SQL statements and Redis commands (those
 * scripts run included) per request, and the kernel's share of the CPU (system calls).
 * Later rounds are what to read: the first runs while the server's JIT is still warming up.
 * BENCH_SERVER_MAIN=<path to another build's dist/src/main.js> measures that build instead.
 * `--against <another build's dist/src/main.js>` is an A/B in one run: both servers up, each on a
 * deployment of its own, each kind run on both back to back (the order alternating between rounds,
 * so the machine's drift, more than most changes save, falls on both), and a table of this build's
 * CPU per request over the other's, per round and the median.
 * `--kinds` runs only the kinds named (comma-separated). `--cpu-prof` runs the server under
 * `node --cpu-prof` and adds where its CPU went, by layer and function, for the whole run (so name
 * one kind to see that kind's functions; the profiler slows the server: read CPU per request only
 * from runs without it). Its samples count wall time: a socket write whose thread lost the core to
 * the process it woke (Postgres, on two cores) shows as long as that wait; the kernel column says
 * what the system calls really cost.
 * Writes bench/results/cost.md; its Redis keys and database are removed.
 */
import type autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { mintTokens, readDataset } from './dataset.js';
import { withOwnDeployment } from './own-deployment.js';
import { log } from './log.js';
import { cannon } from './measure.js';
import { resultsDir, root } from './options.js';
import { cpuSplit, freePort, runTool, start, stop, waitReady } from './processes.js';
import { delta, snapshot } from './probes.js';
import { readProfile, renderSummary, summarise } from './profile-report.js';
import { median } from './report.js';
import {
  body,
  dataOf,
  GRAPHQL_PATH,
  headers,
  KIT_QUERY,
  mixedWorkload,
  post,
  RENAME_KIT_MUTATION,
} from './scenarios.js';
import { buildServer, ourServerEnv, SERVER_NODE_FLAGS, serverMain } from './servers.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '2' },
    kinds: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    against: { type: 'string' },
  },
});
const positive = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`--${name} must be a positive integer (got ${text})`);
    process.exit(2);
  }
  return n;
};
const seconds = positive('seconds', values.seconds);
const chosen = values.kinds?.split(',').map((k) => k.trim());
const rounds = positive('rounds', values.rounds);
const CONNECTIONS = 50;
/** Kits the hit and miss kinds read; renames take the next RENAMED; first reads the rest. */
const HOT = 200;
const RENAMED = 5000;

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const databaseName = 'kitvault_cost';
const prefix = `kvcost:${process.pid}:`;
const logDir = mkdtempSync(path.join(os.tmpdir(), 'kitvault-cost-'));

type Row = {
  round: number;
  kind: string;
  /** Which server: `this` (the build measured), or `against` (the other build's, with --against). */
  build: Build;
  reqPerS: number;
  cpuUs: number;
  /** Of that CPU, the kernel's share (system calls: sockets to clients, Redis and Postgres). */
  kernelShare: number;
  cpuShare: number;
  /** What the requests did, from the server's /metrics and Redis's INFO (null: not exported). */
  hitRate: number | null;
  sqlPerRequest: number | null;
  redisPerRequest: number;
  failed: number;
};

type Build = 'this' | 'against';
type Kind = { requests: () => autocannon.Request[]; before?(): Promise<void>; after?(): Promise<void> };
/** One server up on its own deployment, with its kinds of request (over its own data set). */
type Measured = {
  build: Build;
  server: ReturnType<typeof start>;
  port: number;
  kinds: Record<string, Kind>;
  /** Whether the first reads ran past the last kit (later ones were hits). */
  firstReadsPastEnd(): boolean;
};

async function main() {
  if (values.against && values['cpu-prof']) {
    console.error('--cpu-prof profiles one server: run it without --against');
    process.exit(2);
  }
  await buildServer({ build: !values['no-build'], root, logDir });
  const builds: { build: Build; main: string }[] = [
    { build: 'this', main: serverMain(root, process.env.BENCH_SERVER_MAIN || null) },
  ];
  if (values.against) builds.push({ build: 'against', main: serverMain(root, path.resolve(values.against)) });
  // Only INFO, for the commands each kind costs Redis (the whole server's: the bench is alone there).
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  try {
    await withServers(builds, [], redis);
  } finally {
    redis.disconnect();
  }
}

/**
 * Each build's server on a deployment of its own (database and Redis prefix: one's renames never
 * reach the other's data or caches), made one inside the other; then the measuring, with all up.
 */
async function withServers(
  builds: readonly { build: Build; main: string }[],
  up: Measured[],
  redis: Redis,
): Promise<void> {
  const next = builds[up.length];
  if (!next) return measure(up, redis);
  const own = next.build === 'this' ? '' : `_${next.build}`;
  const deployment = {
    adminUrl,
    redisUrl,
    databaseName: `${databaseName}${own}`,
    // Disjoint (neither a prefix of the other): a purge by prefix reaches its own server's keys only.
    prefix: `${prefix}${next.build}:`,
    kits: null,
    root,
    logDir,
  };
  await withOwnDeployment(deployment, async (databaseUrl) => {
    up.push(await startServer(next.build, next.main, databaseUrl, deployment.prefix));
    await withServers(builds, up, redis);
  });
}

async function startServer(build: Build, main: string, databaseUrl: string, prefix: string): Promise<Measured> {
  const port = await freePort();
  const server = start({
    name: build === 'this' ? 'cost' : `cost-${build}`,
    command: process.execPath,
    args: [...SERVER_NODE_FLAGS, ...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', logDir] : []), main],
    env: ourServerEnv({ databaseUrl, redisUrl, port, responseCache: 'on', entityCache: 'on', prefix }),
    cwd: root,
    logDir,
    port,
  });
  await waitReady(server);
  const { kitIds, clubIds } = await readDataset(databaseUrl);
  if (kitIds.length < HOT + RENAMED + 1000) throw new Error(`the data set has too few kits (${kitIds.length})`);
  const { adminToken } = await mintTokens(databaseUrl, 0);
  const kit = (i: number) => String(kitIds[i]!);
  // Fresh each time: autocannon writes a request's Content-Length into its headers object.
  const asAdmin = () => ({ authorization: `Bearer ${adminToken}` });
  const warm = async () => {
    for (let i = 0; i < HOT; i++) dataOf(await post(port, body(KIT_QUERY, { id: kit(i) })), 'a warming read');
  };
  await warm();

  let n = 0;
  let renamed = 0;
  let firstRead = 0;
  const mixed = mixedWorkload({ kitIds, clubIds, adminToken, writeShare: 0.05, zipfS: 1, seed: 77 }).requests;
  const reads = mixedWorkload({ kitIds, clubIds, adminToken, writeShare: 0, zipfS: 1, seed: 78 }).requests;
  const mixedCold = mixedWorkload({ kitIds, clubIds, adminToken, writeShare: 0.05, zipfS: 1, seed: 79 }).requests;
  const readsCold = mixedWorkload({ kitIds, clubIds, adminToken, writeShare: 0, zipfS: 1, seed: 79 }).requests;
  const purge = async () => {
    dataOf(await post(port, body('mutation { purgeAllCaches }'), asAdmin()), 'the purge');
  };
  /** Each kind: its requests, and what to do before and after its run. */
  const kinds: Record<string, Kind> = {
    // Warmed again first: the mix's renames drop some of these kits.
    hit: { before: warm, requests: () => one(() => ({ body: body(KIT_QUERY, { id: kit(n++ % HOT) }) })) },
    miss: {
      requests: () =>
        one(() => ({ body: JSON.stringify({ query: KIT_QUERY, variables: { id: kit(n % HOT), unused: ++n } }) })),
    },
    'first read': {
      // Every kit cold again: the run reads them in order from the first no other kind reads.
      before: async () => {
        firstRead = HOT + RENAMED;
        await purge();
      },
      requests: () => one(() => ({ body: body(KIT_QUERY, { id: kit(firstRead++ % kitIds.length) }) })),
      after: warm,
    },
    rename: {
      requests: () =>
        one(() => ({
          body: body(RENAME_KIT_MUTATION, { id: kit(HOT + (renamed % RENAMED)), name: `Cost rename ${++renamed}` }),
          headers: headers(asAdmin()),
        })),
    },
    mixed: { requests: () => mixed },
    // The mix without its renames, on the caches the mix left: what the renames add to it, each
    // with the answers it dropped and the reads that fill them again, is the difference.
    reads: { requests: () => reads },
    // Both again from purged caches, as scenario 6 runs in `npm run bench`: the difference is what the
    // renames cost a cold mix, their re-reads included (the first reads of a cold run are in both).
    'mixed from cold': { before: purge, requests: () => mixedCold },
    'reads from cold': { before: purge, requests: () => readsCold },
  };
  return { build, server, port, kinds, firstReadsPastEnd: () => firstRead >= kitIds.length };
}

/**
 * Every kind in turn, every round; with two servers each kind runs on both back to back, in the
 * other order the next round, so the machine's drift (±20 % within minutes here) falls on both.
 */
async function measure(servers: readonly Measured[], redis: Redis): Promise<void> {
  const names = Object.keys(servers[0]!.kinds);
  const unknown = chosen?.filter((k) => !names.includes(k)) ?? [];
  if (unknown.length > 0) throw new Error(`--kinds: no kind ${unknown.join(', ')} (there are ${names.join(', ')})`);
  const rows: Row[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const kind of names) {
      if (chosen && !chosen.includes(kind)) continue;
      for (const measured of round % 2 === 1 ? servers : [...servers].reverse()) {
        const row = await runKind(measured, kind, round, redis);
        rows.push(row);
        if (kind === 'first read' && measured.firstReadsPastEnd())
          log(`first reads ran past the last kit: later ones were hits (use a shorter --seconds)`);
        log(
          `round ${round} ${kind}${servers.length > 1 ? ` (${measured.build})` : ''}: ${Math.round(row.reqPerS)} req/s, ${Math.round(row.cpuUs)} µs CPU per request, server ${Math.round(row.cpuShare * 100)} %, ${row.failed} failed`,
        );
      }
    }
  }
  let profile = '';
  if (values['cpu-prof']) {
    const { server } = servers[0]!;
    await stop(server, 20_000); // V8 writes the profile as the server exits
    const file = readdirSync(logDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`the server wrote no .cpuprofile to ${logDir}`);
    profile = renderSummary(
      "Where the server's CPU went (`--cpu-prof`, the whole run)",
      [`The profile: ${path.join(logDir, file)}. Shares are of the time the server was busy.`],
      summarise(readProfile(path.join(logDir, file))),
    ).replace(/^# /, '## ');
  }
  const out = path.join(resultsDir, 'cost.md');
  writeFileSync(out, render(rows, servers.length > 1) + (profile ? `\n${profile}` : ''));
  log(`written ${path.relative(root, out)}`);
}

async function runKind(measured: Measured, kind: string, round: number, redis: Redis): Promise<Row> {
  const { server, port, build } = measured;
  const { requests, before, after } = measured.kinds[kind]!;
  await before?.();
  const cpuBefore = cpuSplit(server.pid) ?? { user: 0, system: 0 };
  const counted = await snapshot(redis, server.pid, port);
  const result = await cannon({ port, requests: requests() }, seconds, CONNECTIONS);
  // The requests still in the server when the load stopped finish in this kind's window, not the next's.
  await new Promise((resolve) => setTimeout(resolve, 250));
  const did = delta(counted, await snapshot(redis, server.pid, port));
  const cpuAfter = cpuSplit(server.pid) ?? cpuBefore;
  const system = cpuAfter.system - cpuBefore.system;
  const cpu = cpuAfter.user - cpuBefore.user + system;
  await after?.();
  const answered = Math.max(1, result.requests.total);
  const looked = (did.cacheHits ?? 0) + (did.cacheMisses ?? 0);
  return {
    round,
    kind,
    build,
    reqPerS: result.requests.average,
    cpuUs: (cpu / answered) * 1e6,
    kernelShare: cpu > 0 ? system / cpu : 0,
    cpuShare: cpu / seconds,
    hitRate: did.cacheHits === null || looked === 0 ? null : did.cacheHits / looked,
    sqlPerRequest: did.sqlStatements === null ? null : did.sqlStatements / answered,
    redisPerRequest: did.redisCalls / answered,
    failed: result.errors + result.non2xx,
  };
}

/** One request generator: each call of `make` is the next request. */
function one(make: () => { body: string; headers?: Record<string, string> }): autocannon.Request[] {
  return [
    {
      method: 'POST',
      path: GRAPHQL_PATH,
      setupRequest: (request) => {
        const next = make();
        return { ...request, body: next.body, headers: next.headers ?? headers() };
      },
    },
  ];
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** Per kind, this build's CPU per request over the other's, per round and the median of rounds. */
function renderRatios(rows: readonly Row[]): string[] {
  const lines = [
    '',
    '## This build against the other, side by side',
    '',
    "Server CPU per request, this build's over the other's (under 1: this build is cheaper); each kind ran on both back to back, the order alternating between rounds.",
    '',
    `| kind | ${Array.from({ length: rounds }, (_, i) => `round ${i + 1}`).join(' | ')} | median |`,
    `| --- | ${Array.from({ length: rounds + 1 }, () => '---:').join(' | ')} |`,
  ];
  for (const kind of [...new Set(rows.map((r) => r.kind))]) {
    const ratios: number[] = [];
    for (let round = 1; round <= rounds; round++) {
      const mine = rows.find((r) => r.kind === kind && r.round === round && r.build === 'this');
      const theirs = rows.find((r) => r.kind === kind && r.round === round && r.build === 'against');
      if (mine && theirs && theirs.cpuUs > 0) ratios.push(mine.cpuUs / theirs.cpuUs);
    }
    lines.push(`| ${kind} | ${ratios.map((r) => r.toFixed(2)).join(' | ')} | **${median(ratios).toFixed(2)}** |`);
  }
  return lines;
}

function render(rows: readonly Row[], against: boolean): string {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    // not a checkout
  }
  const servers = against
    ? `two servers (both caches on, each on its own database and Redis prefix): this build and \`${values.against}\` (against)`
    : 'one server (both caches on)';
  return [
    '# What one kind of request costs the server',
    '',
    `Written by \`npm run bench:cost\` (bench/cost-run.ts) on ${new Date().toISOString()} at ${commit}${process.env.BENCH_SERVER_MAIN ? ` (the server: ${process.env.BENCH_SERVER_MAIN})` : ''}: ${servers}, each kind of request alone for ${seconds} s from ${CONNECTIONS} connections, ${rounds} round(s); CPU is the server process's utime+stime (worker threads and GC included) over the requests answered. The first round runs while the JIT warms up: read the last. What each kind is: the file's header.`,
    '',
    `| round | kind |${against ? ' build |' : ''} req/s | server CPU per request (µs) | of which kernel | server CPU % | response hit rate | SQL/req | Redis cmds/req | failed |`,
    `| ---: | --- |${against ? ' --- |' : ''} ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |`,
    ...rows.map(
      (r) =>
        `| ${r.round} | ${r.kind} |${against ? ` ${r.build} |` : ''} ${Math.round(r.reqPerS).toLocaleString('en-US')} | ${Math.round(r.cpuUs).toLocaleString('en-US')} | ${percent(r.kernelShare)} | ${Math.round(r.cpuShare * 100)} | ${r.hitRate === null ? '–' : percent(r.hitRate)} | ${r.sqlPerRequest === null ? '–' : r.sqlPerRequest.toFixed(2)} | ${r.redisPerRequest.toFixed(1)} | ${r.failed} |`,
    ),
    ...(against ? renderRatios(rows) : []),
    '',
  ].join('\n');
}

runTool(main, logDir);
