/**
 * `npm run bench [-- --quick]`: the benchmark of Kitvault's caching, end to end, on the real
 * Postgres and Redis.
 *
 * It (re)creates its own database (BENCH_DATABASE_NAME, default kitvault_bench, on the server of
 * BENCH_DATABASE_URL), seeds it with `npm run db:seed`, builds the server (`npm run build`), starts
 * the servers as child processes on free loopback ports (our server three times with different
 * cache settings, once more for scenario 6 as a deployment of one on a copy of the database,
 * `<name>_mixed`, with a no-cache server on that copy to check it, the floor, the stock
 * configuration and yoga on the same schema answering from in-process memory, the miss path's
 * yardstick), measures the scenarios with autocannon,
 * interleaved over rounds, checks the mixed workload's answers against the no-cache server, runs
 * a stampede, then the fault scenario (faults.ts: a Redis and a Postgres outage staged through TCP
 * proxies, on a server of its own), writes bench/results/latest.{json,md} plus a timestamped JSON,
 * prints the tables, and removes its Redis keys (prefix kvbench:<pid>:), its databases (unless
 * --keep-db) and every child process, also on errors and Ctrl-C.
 *
 * Flags: --quick (1 round of 3 s after 1 s warm-up, 5,000 kits), --rounds N, --duration S,
 * --warmup S, --connections N, --kits N, --no-build (use the existing dist/), --keep-db,
 * --no-faults (skip the fault scenario), --fault-phase S (its phase length; 10 s, 6 s with --quick),
 * --no-balancer (skip 2h and 6h: the public hit and the mixed workload on three more processes behind
 * HAProxy with deploy/haproxy/haproxy.cfg, beside 2 and 6 on one; balancer.ts; left out with a note
 * when haproxy is not installed).
 * Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_DATABASE_NAME,
 * BENCH_REDIS_URL (default redis://127.0.0.1:6379), BENCH_SERVER_MAIN (another built main.js to measure,
 * e.g. an older build; default dist/src/main.js), BENCH_BASELINE_MAIN (another built main.js measured
 * beside ours as scenarios 2b, 4b and 6b, with ratios (2)/(2b), (4)/(4b) and (6)/(6b); cwd: its
 * checkout; on a copy of the bench database, <name>_baseline, dropped with it).
 *
 * The steps live in options.ts, dataset.ts, servers.ts, balancer.ts, answers.ts, targets.ts, measure.ts,
 * stampede.ts, faults.ts and report.ts; this file runs them in order and owns the cleanup.
 */
import { Redis } from 'ioredis';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { answerCheck, checkCatalogues } from './answers.js';
import { HAPROXY_BINARY, startBalanced, type Balanced } from './balancer.js';
import { copyDatabase, createDatabase, mintTokens, readDataset, seedDatabase } from './dataset.js';
import { runFaults } from './faults.js';
import { benchKeys, deletePrefixKeys } from './keys.js';
import { log } from './log.js';
import { runRounds, stopLoad } from './measure.js';
import { isLoopback, readOptions, resultsDir, root } from './options.js';
import { killAllSync, rssMiB, stopAll } from './processes.js';
import {
  BALANCER_RATIOS,
  BASELINE_RATIOS,
  describeMachine,
  medianRatios,
  mixedTotals,
  noteFindings,
  printReport,
  RATIOS,
  summarise,
  writeReport,
  type Report,
} from './report.js';
import { body, CATALOGUE_QUERY } from './scenarios.js';
import {
  buildServer,
  checkMetrics,
  fetchCatalogueHit,
  listening,
  serverMain,
  startFloor,
  startServers,
} from './servers.js';
import { runStampede } from './stampede.js';
import { buildTargets } from './targets.js';

const options = readOptions();
const { settings } = options;
const keys = benchKeys();
const notes: string[] = [];

// ---------------------------------------------------------------- cleanup

// What cleanup must undo; set as each thing comes to exist.
let redis: Redis | null = null;
let admin: postgres.Sql | null = null;
let databaseCreated = false;
let baselineDatabaseCreated = false;
let mixedDatabaseCreated = false;
let logDir = '';
let cleaning: Promise<void> | null = null;

/** Stops the load and every child, deletes the run's Redis keys and its database; once, however often called. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    stopLoad();
    await stopAll();
    if (redis) {
      const client = redis;
      try {
        const deleted = await deletePrefixKeys(client, keys.prefix);
        log(`deleted ${deleted} Redis keys with prefix ${keys.prefix}`);
      } catch (error) {
        console.error(`could not delete Redis keys ${keys.prefix}*: ${(error as Error).message}`);
      }
      await client.quit().catch(() => client.disconnect());
    }
    if (admin) {
      const created = [
        ...(databaseCreated ? [options.databaseName] : []),
        ...(baselineDatabaseCreated ? [options.baselineDatabaseName] : []),
        ...(mixedDatabaseCreated ? [options.mixedDatabaseName] : []),
      ];
      for (const name of options.keepDb ? [] : created) {
        await admin.unsafe(`drop database if exists "${name}" with (force)`).catch((error: Error) => {
          console.error(`could not drop ${name}: ${error.message}`);
        });
      }
      await admin.end({ timeout: 5 }).catch(() => {});
    }
  })();
  return cleaning;
}

let interrupted = false;
let interruptedAt = 0;
/**
 * A second signal this soon after the first is the same Ctrl-C passed on by a wrapper: tsx sends
 * its child the signal again when the child has not acknowledged it within 30 ms, as happens while
 * autocannon keeps this process busy. Only a later one means "force".
 */
const RELAYED_SIGNAL_MS = 2000;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) {
      if (performance.now() - interruptedAt < RELAYED_SIGNAL_MS) return;
      killAllSync();
      process.exit(130);
    }
    interrupted = true;
    interruptedAt = performance.now();
    console.error(`\n${signal}: stopping the servers and cleaning up (again to force)`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', () => killAllSync());

// ---------------------------------------------------------------- main

async function main(): Promise<Report> {
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ${JSON.stringify(settings)}`);
  for (const url of [options.adminUrl, options.redisUrl]) {
    if (!isLoopback(url))
      notes.push(`${new URL(url).hostname} is not a loopback address: the numbers include network time.`);
  }
  logDir = mkdtempSync(path.join(os.tmpdir(), 'kitvault-bench-'));
  log(`child process logs in ${logDir} (removed after a successful run)`);

  const client = new Redis(options.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  redis = client;
  await client.connect();
  await client.ping();
  admin = postgres(options.adminUrl, { max: 1, onnotice: () => {} });

  await createDatabase(admin, options.databaseName);
  databaseCreated = true;
  await seedDatabase({
    databaseUrl: options.benchDatabaseUrl,
    databaseName: options.databaseName,
    kits: settings.kits,
    root,
    logDir,
  });
  await buildServer({ build: options.build, root, logDir });
  const mainJs = serverMain(root, options.serverMain);
  const dataset = await readDataset(options.benchDatabaseUrl);
  const tokens = await mintTokens(options.benchDatabaseUrl, settings.privateUsers);
  log(`data set ${JSON.stringify(dataset.counts)}; ${tokens.userTokens.length} user tokens and an admin token minted`);
  if (options.baselineMain !== null) {
    // Tokens included: the baseline's scenarios sign in with the same ones.
    baselineDatabaseCreated = true;
    await copyDatabase(admin, options.databaseName, options.baselineDatabaseName);
    log(`copied ${options.databaseName} to ${options.baselineDatabaseName} for the baseline build`);
  }
  // Scenario 6's server is a deployment of one on a copy of its own, as 6b's is: no other instance
  // shares its caches (and so its writes' acknowledgements), and its renames reach no other scenario.
  mixedDatabaseCreated = true;
  await copyDatabase(admin, options.databaseName, options.mixedDatabaseName);
  log(`copied ${options.databaseName} to ${options.mixedDatabaseName} for scenario 6`);

  const { servers, ourReadyEndpoint } = await startServers({
    root,
    mainJs,
    baselineMain: options.baselineMain,
    databaseUrl: options.benchDatabaseUrl,
    baselineDatabaseUrl: options.baselineDatabaseUrl,
    mixedDatabaseUrl: options.mixedDatabaseUrl,
    redisUrl: options.redisUrl,
    keys,
    logDir,
  });
  const metricsEndpoint = await checkMetrics(servers, notes);
  if (!ourReadyEndpoint)
    notes.push('our server has no GET /ready (yet): readiness was taken from a first GraphQL answer.');

  const catalogue = body(CATALOGUE_QUERY);
  const hit = await fetchCatalogueHit(servers.main, catalogue);
  const floor = await startFloor({
    root,
    redis: client,
    redisUrl: options.redisUrl,
    floorKey: keys.floor,
    logDir,
    hit,
    catalogue,
  });
  let balanced: Balanced | null = null;
  if (options.balancer && HAPROXY_BINARY === null)
    notes.push('no haproxy binary (Debian: apt-get install haproxy): scenarios 2h and 6h were left out.');
  else if (options.balancer)
    balanced = await startBalanced({
      root,
      mainJs,
      databaseUrl: options.benchDatabaseUrl,
      redisUrl: options.redisUrl,
      keys,
      logDir,
    });
  const all = {
    ...servers,
    floor,
    ...(balanced
      ? {
          haproxy: balanced.balancer,
          balanced1: balanced.instances[0],
          balanced2: balanced.instances[1],
          balanced3: balanced.instances[2],
        }
      : {}),
  };
  log(
    `servers up: ${listening(all)
      .map(([k, s]) => `${k} :${s.port} pid ${s.pid}`)
      .join(', ')}`,
  );
  log(`catalogue answer: ${hit.bytes.length} bytes, ${hit.contentType}; stored for the floor`);
  const sameData = answerCheck(servers.none.port, notes);
  const baselineSameData = servers.noneBaseline ? answerCheck(servers.noneBaseline.port, notes) : null;
  const checks = await checkCatalogues(servers, catalogue, sameData, baselineSameData);

  const { groups, correctness, balancedCorrectness, baselineCorrectness } = buildTargets({
    servers: all,
    catalogue,
    hit,
    dataset,
    tokens,
    settings,
    sameData,
    baselineSameData,
    memoryCheck: checks.memory,
    redis: client,
    keys,
    balanced,
  });
  const ratioDefinitions = [
    ...RATIOS,
    ...(options.baselineMain !== null ? BASELINE_RATIOS : []),
    ...(balanced ? BALANCER_RATIOS : []),
  ];
  const { runs, roundRatios } = await runRounds(groups, settings.rounds, ratioDefinitions, {
    ...settings,
    redis: client,
  });
  const stampede = await runStampede({
    redis: client,
    prefix: keys.prefix,
    server: servers.main,
    catalogue,
    concurrency: settings.stampedeConcurrency,
  });
  const faults = options.faults
    ? await runFaults({
        root,
        mainJs,
        databaseUrl: options.benchDatabaseUrl,
        redisUrl: options.redisUrl,
        keys,
        logDir,
        dataset,
        phaseS: settings.faultPhaseS,
        connections: settings.connections,
        zipfS: settings.zipfS,
      })
    : null;
  if (faults?.error) notes.push(`the fault scenario stopped early: ${faults.error.split('\n')[0]}`);

  const summary = summarise(runs);
  const mixed = mixedTotals(runs, summary, correctness);
  const mixedBalanced = balanced ? mixedTotals(runs, summary, balancedCorrectness, 'mixedBalanced') : null;
  const mixedBaseline =
    options.baselineMain !== null ? mixedTotals(runs, summary, baselineCorrectness, 'mixedBaseline') : null;
  noteFindings(runs, summary, notes);
  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine,
    settings: {
      ...settings,
      database: options.databaseName,
      redisPrefix: keys.prefix,
      // Which build was compared with which; absent without a baseline, as before it existed.
      ...(options.baselineMain !== null ? { serverMain: mainJs, baselineMain: options.baselineMain } : {}),
    },
    dataset: dataset.counts,
    servers: Object.fromEntries(
      listening(all).map(([k, s]) => [k, { port: s.port, pid: s.pid, rssMiBAtEnd: rssMiB(s.pid) }]),
    ),
    metricsEndpoint,
    runs,
    roundRatios,
    summary,
    ratios: medianRatios(roundRatios, ratioDefinitions),
    mixed,
    ...(mixedBalanced ? { mixedBalanced } : {}),
    ...(mixedBaseline ? { mixedBaseline } : {}),
    stampede,
    faults,
    notes,
  };
}

let exitCode = 0;
try {
  const report = await main();
  const files = writeReport(resultsDir, report);
  printReport(
    report,
    [files.json, files.stamped, files.md].map((file) => path.relative(root, file)),
  );
  for (const m of [report.mixed, report.mixedBalanced]) if (m && (m.mismatches > 0 || m.errors > 0)) exitCode = 1;
  if (report.faults?.error) exitCode = 1;
} catch (error) {
  if (interrupted) await cleanup().then(() => process.exit(130));
  console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  exitCode = 1;
} finally {
  await cleanup();
}
if (exitCode === 0 && logDir) rmSync(logDir, { recursive: true, force: true });
else if (logDir) console.error(`child process logs kept in ${logDir}`);
process.exit(exitCode);
