/**
 * `npm run bench [-- --quick]`: the benchmark of Kitvault's caching, end to end, on the real
 * Postgres and Redis.
 *
 * It (re)creates its own database (BENCH_DATABASE_NAME, default kitvault_bench, on the server of
 * BENCH_DATABASE_URL), seeds it with `npm run db:seed`, builds the server (`npm run build`), starts
 * the servers as child processes on free loopback ports (our server three times with different
 * cache settings, the floor and the stock configuration), measures the scenarios with autocannon,
 * interleaved over rounds, checks the mixed workload's answers against the no-cache server, runs
 * a stampede, writes bench/results/latest.{json,md} plus a timestamped JSON, prints the table,
 * and removes its Redis keys (prefix kvbench:<pid>:), its database (unless --keep-db) and every
 * child process, also on errors and Ctrl-C.
 *
 * Flags: --quick (1 round of 3 s after 1 s warm-up, 5,000 kits), --rounds N, --duration S,
 * --warmup S, --connections N, --kits N, --no-build (use the existing dist/), --keep-db.
 * Env: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres), BENCH_DATABASE_NAME,
 * BENCH_REDIS_URL (default redis://127.0.0.1:6379), BENCH_SERVER_MAIN (another built main.js to measure,
 * e.g. an older build; default dist/src/main.js).
 */
import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import { hashToken, newToken } from '../src/auth/tokens.js';
import { openDatabase } from '../src/db/client.js';
import { userRepository } from '../src/db/repositories/users.js';
import { delta, RC_METRIC, scrape, snapshot, SQL_METRIC, type Deltas } from './probes.js';
import { freePort, killAllSync, rssMiB, runToEnd, start, stopAll, waitReady, type Child } from './processes.js';
import {
  describeMachine,
  markdownTable,
  medianRatios,
  ratios,
  SCENARIOS,
  summarise,
  writeReport,
  type Ratio,
  type Report,
  type RunResult,
  type ScenarioKey,
  type Answer,
  type Stampede,
} from './report.js';
import {
  body,
  CATALOGUE_QUERY,
  checkCorrectness,
  COLLECTION_QUERY,
  dataOf,
  GRAPHQL_PATH,
  headers,
  mixedWorkload,
  pool,
  post,
  rotatingTokens,
  type MixedState,
} from './scenarios.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const resultsDir = path.join(root, 'bench', 'results');

// ---------------------------------------------------------------- options

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    connections: { type: 'string' },
    kits: { type: 'string' },
    'no-build': { type: 'boolean', default: false },
    'keep-db': { type: 'boolean', default: false },
  },
  allowPositionals: false,
});

function numberFlag(
  name: 'rounds' | 'duration' | 'warmup' | 'connections' | 'kits',
  fallback: number,
  min: number,
): number {
  const raw = flags[name];
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    console.error(`--${name} must be a number ≥ ${min}, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

const quick = flags.quick === true;
const settings = {
  quick,
  rounds: numberFlag('rounds', quick ? 1 : 3, 1),
  durationS: numberFlag('duration', quick ? 3 : 10, 1),
  warmupS: numberFlag('warmup', quick ? 1 : 2, 0),
  connections: numberFlag('connections', 50, 1),
  /** null: the seed's default (20,000). */
  kits: flags.kits !== undefined ? numberFlag('kits', 0, 0) : quick ? 5000 : null,
  privateUsers: 200,
  mixedWriteShare: 0.05,
  zipfS: 1.0,
  stampedeConcurrency: 500,
};

const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const databaseName = process.env.BENCH_DATABASE_NAME ?? 'kitvault_bench';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `kvbench:${process.pid}:`;
const floorKey = `${prefix}floor`;
const stockPrefix = `${prefix}stock:`;

if (!/^[a-z0-9_]+$/.test(databaseName)) {
  console.error(`BENCH_DATABASE_NAME must be lowercase letters, digits and _, got "${databaseName}"`);
  process.exit(2);
}
const benchDatabaseUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${databaseName}`;
  return u.toString();
})();
const isLoopback = (url: string) => ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(new URL(url).hostname);

const notes: string[] = [];
const log = (message: string) => console.log(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
/** Arrays sorted by their elements' JSON, recursively: equal canonical forms differ at most in list order. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value))
    return value.map(canonical).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonical(v)]));
  return value;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Pause before and after each measured run (in-flight requests finish, sockets close). */
const SETTLE_MS = 150;

// ---------------------------------------------------------------- cleanup

let redis: Redis | null = null;
let admin: postgres.Sql | null = null;
let current: autocannon.Instance | null = null;
let cleaning: Promise<void> | null = null;
let databaseCreated = false;
let logDir = '';

async function deletePrefixKeys(client: Redis): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    try {
      current?.stop();
    } catch {
      /* not running */
    }
    await stopAll();
    if (redis) {
      try {
        const deleted = await deletePrefixKeys(redis);
        log(`deleted ${deleted} Redis keys with prefix ${prefix}`);
      } catch (error) {
        console.error(`could not delete Redis keys ${prefix}*: ${(error as Error).message}`);
      }
      await redis.quit().catch(() => redis?.disconnect());
    }
    if (admin) {
      if (databaseCreated && !flags['keep-db']) {
        await admin.unsafe(`drop database if exists "${databaseName}" with (force)`).catch((error: Error) => {
          console.error(`could not drop ${databaseName}: ${error.message}`);
        });
      }
      await admin.end({ timeout: 5 }).catch(() => {});
    }
  })();
  return cleaning;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) {
      killAllSync();
      process.exit(130);
    }
    interrupted = true;
    console.error(`\n${signal}: stopping the servers and cleaning up (again to force)`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('exit', () => killAllSync());

// ---------------------------------------------------------------- load

type Load = {
  port: number;
  /** A fixed body, or generated requests. */
  body?: string;
  requests?: autocannon.Request[];
};

function cannon(load: Load, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const options: autocannon.Options = {
      url: `http://127.0.0.1:${load.port}${GRAPHQL_PATH}`,
      method: 'POST',
      headers: headers(),
      connections: settings.connections,
      pipelining: 1,
      duration: seconds,
      timeout: 10,
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

type Target = {
  key: ScenarioKey;
  server: Child;
  load: () => Load;
  /** Before the warm-up: make sure what a "hit" scenario measures is in the cache. */
  prime?: () => Promise<void>;
  after?: (run: RunResult) => Promise<void>;
};

async function measure(target: Target, round: number): Promise<RunResult> {
  const scenario = SCENARIOS.find((s) => s.key === target.key)!;
  const port = target.server.port!;
  if (target.prime) await target.prime();
  if (settings.warmupS > 0) await cannon(target.load(), settings.warmupS);
  await sleep(SETTLE_MS);
  const load = target.load();
  const before = await snapshot(redis!, target.server.pid, port);
  const result = await cannon(load, settings.durationS);
  // Requests still in flight when autocannon stops reach the server all the same: let them finish,
  // and count them (requests.sent) in the per-request costs.
  await sleep(SETTLE_MS);
  const after = await snapshot(redis!, target.server.pid, port);
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
    serverRssMiB: rssMiB(target.server.pid),
    loadgenCpuPercent: d.harnessCpuPercent,
    postgresCpuPercent: d.postgresCpuPercent,
    machineCpuPercent: d.machineCpuPercent,
    otherCpuPercent: d.otherCpuPercent,
    answer: null,
  };
  if (target.after) await target.after(run);
  const fmt = (v: number | null, digits = 0) => (v === null ? 'null' : v.toFixed(digits));
  log(
    `round ${round} (${scenario.n}) ${scenario.label}: ${run.requestsPerSecond.toFixed(0)} req/s, p50 ${run.latencyP50Ms} ms, p99 ${run.latencyP99Ms} ms, ` +
      `err ${run.errors} (timeouts ${run.timeouts}), non-2xx ${run.non2xx}, hit ${run.hitRate === null ? 'null' : (run.hitRate * 100).toFixed(1) + '%'}, ` +
      `SQL/req ${fmt(run.sqlPerRequest, 3)}, Redis/req ${run.redisCallsPerRequest.toFixed(2)}, CPU ${fmt(run.serverCpuPercent)}%, ` +
      `RSS ${fmt(run.serverRssMiB)} MiB, load-gen CPU ${run.loadgenCpuPercent.toFixed(0)}%, Postgres ${run.postgresCpuPercent.toFixed(0)}%, other ${fmt(run.otherCpuPercent)}%` +
      (run.answer === 'different'
        ? ' — ANSWER CHECK FAILED'
        : run.answer === 'list-order'
          ? ' — answer differs in list order'
          : ''),
  );
  return run;
}

// ---------------------------------------------------------------- main

async function main(): Promise<Report> {
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}; ${JSON.stringify(settings)}`);
  for (const url of [adminUrl, redisUrl]) {
    if (!isLoopback(url))
      notes.push(`${new URL(url).hostname} is not a loopback address: the numbers include network time.`);
  }
  logDir = mkdtempSync(path.join(os.tmpdir(), 'kitvault-bench-'));
  log(`child process logs in ${logDir} (removed after a successful run)`);

  redis = new Redis(redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true });
  await redis.connect();
  await redis.ping();
  admin = postgres(adminUrl, { max: 1, onnotice: () => {} });

  // Database: drop, create, seed.
  await admin.unsafe(`drop database if exists "${databaseName}" with (force)`);
  await admin.unsafe(`create database "${databaseName}"`);
  databaseCreated = true;
  const childEnv = (extra: Record<string, string>): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    // Nothing from the caller's environment may change how the servers cache.
    for (const key of [
      'CACHE_DEBUG',
      'ENTITY_TTL_SECONDS',
      'ENTITY_NEGATIVE_TTL_SECONDS',
      'REDIS_TIMEOUT_MS',
      'PGLITE_DATA_DIR',
      'SEED_PASSWORD',
    ])
      delete env[key];
    return { ...env, ...extra };
  };
  const seedArgs = settings.kits !== null ? ['--kits', String(settings.kits)] : [];
  log(`seeding ${databaseName} (npm run db:seed -- ${seedArgs.join(' ')})`);
  let t = performance.now();
  await runToEnd(
    {
      name: 'seed',
      command: 'npm',
      args: ['run', 'db:seed', '--', ...seedArgs],
      env: childEnv({ DATABASE_URL: benchDatabaseUrl }),
      cwd: root,
      logDir,
    },
    5 * 60_000,
  );
  log(`seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  if (flags['no-build']) {
    log('--no-build: using the existing dist/');
  } else {
    log('building (npm run build)');
    t = performance.now();
    await runToEnd(
      { name: 'build', command: 'npm', args: ['run', 'build'], env: childEnv({}), cwd: root, logDir },
      5 * 60_000,
    );
    log(`built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  const mainJs = process.env.BENCH_SERVER_MAIN
    ? path.resolve(process.env.BENCH_SERVER_MAIN)
    : path.join(root, 'dist', 'src', 'main.js');
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run npm run build`);

  // The data set, and tokens minted straight in the database (login's scrypt is slow on purpose).
  const bench = postgres(benchDatabaseUrl, { max: 1, onnotice: () => {} });
  const kitIds = (await bench<{ id: number }[]>`select id from kits order by id`).map((r) => r.id);
  const clubIds = (await bench<{ id: number }[]>`select id from clubs order by id`).map((r) => r.id);
  const [counts] = await bench<
    { users: number; items: number; seasons: number; brands: number; competitions: number }[]
  >`
    select (select count(*)::int from users) as users, (select count(*)::int from collection_items) as items,
           (select count(*)::int from seasons) as seasons, (select count(*)::int from brands) as brands,
           (select count(*)::int from competitions) as competitions`;
  await bench.end();
  const dataset = { kits: kitIds.length, clubs: clubIds.length, ...counts };
  const database = await openDatabase({ url: benchDatabaseUrl, maxConnections: 2 });
  const users = userRepository(database.db);
  const mint = async (username: string) => {
    const user = await users.userByUsername(username);
    if (!user) throw new Error(`the seeded data has no user ${username}`);
    const token = newToken();
    await users.insertToken(user.id, hashToken(token));
    return token;
  };
  const userTokens: string[] = [];
  for (let i = 1; i <= settings.privateUsers; i++) userTokens.push(await mint(`user${i}`));
  const adminToken = await mint('admin');
  await database.close();
  log(`data set ${JSON.stringify(dataset)}; ${userTokens.length} user tokens and an admin token minted`);

  // Servers.
  const [pMain, pEntity, pNone, pFloor, pStock] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const serverEnv = (port: number, responseCache: 'on' | 'off', entityCache: 'on' | 'off') =>
    childEnv({
      DATABASE_URL: benchDatabaseUrl,
      REDIS_URL: redisUrl,
      REDIS_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      RESPONSE_CACHE: responseCache,
      ENTITY_CACHE: entityCache,
      CACHE_DEBUG: 'off',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
    });
  const node = process.execPath;
  const servers: Record<'main' | 'entity' | 'none' | 'stock', Child> & { floor?: Child } = {
    main: start({
      name: 'server-both-caches',
      command: node,
      args: [mainJs],
      env: serverEnv(pMain, 'on', 'on'),
      cwd: root,
      logDir,
      port: pMain,
    }),
    entity: start({
      name: 'server-entity-cache',
      command: node,
      args: [mainJs],
      env: serverEnv(pEntity, 'off', 'on'),
      cwd: root,
      logDir,
      port: pEntity,
    }),
    none: start({
      name: 'server-no-cache',
      command: node,
      args: [mainJs],
      env: serverEnv(pNone, 'off', 'off'),
      cwd: root,
      logDir,
      port: pNone,
    }),
    stock: start({
      name: 'stock',
      command: node,
      args: ['--import', 'tsx', path.join(root, 'bench', 'stock-server.ts')],
      env: childEnv({
        PORT: String(pStock),
        HOST: '127.0.0.1',
        DATABASE_URL: benchDatabaseUrl,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: stockPrefix,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      }),
      cwd: root,
      logDir,
      port: pStock,
    }),
  };
  const readiness = await Promise.all(Object.values(servers).map((s) => waitReady(s)));

  // /metrics, where there is one.
  const metricsEndpoint: Record<string, boolean> = {};
  for (const [name, server] of Object.entries(servers)) {
    const samples = await scrape(server.port!);
    metricsEndpoint[name] = samples !== null;
    const missing = [SQL_METRIC, RC_METRIC].filter((m) => !samples?.has(m));
    if (!samples)
      notes.push(
        `server "${name}" has no GET /metrics (or it is not Prometheus text): its SQL/req and hit rate are null.`,
      );
    else if (missing.length)
      notes.push(`server "${name}" /metrics lacks ${missing.join(', ')}: those columns are null.`);
  }
  if (!readiness.slice(0, 3).every((r) => r.ready === 'ready-endpoint')) {
    notes.push('our server has no GET /ready (yet): readiness was taken from a first GraphQL answer.');
  }

  // The catalogue answer: fetched from the scenario-2 server (second time: a hit), stored for the floor.
  const catalogue = body(CATALOGUE_QUERY);
  dataOf(await post(pMain, catalogue), 'catalogue on the scenario-2 server');
  const hitResponse = await fetch(`http://127.0.0.1:${pMain}${GRAPHQL_PATH}`, {
    method: 'POST',
    headers: headers(),
    body: catalogue,
  });
  const hitBytes = Buffer.from(await hitResponse.arrayBuffer());
  const contentType = hitResponse.headers.get('content-type') ?? 'application/json; charset=utf-8';
  if (hitResponse.status !== 200)
    throw new Error(`catalogue query: status ${hitResponse.status}: ${hitBytes.toString().slice(0, 300)}`);
  await redis.set(floorKey, hitBytes, 'EX', 3600);
  const floor = start({
    name: 'floor',
    command: node,
    args: ['--import', 'tsx', path.join(root, 'bench', 'floor-server.ts')],
    env: childEnv({
      PORT: String(pFloor),
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      FLOOR_KEY: floorKey,
      FLOOR_CONTENT_TYPE: contentType,
      NODE_ENV: 'production',
    }),
    cwd: root,
    logDir,
    port: pFloor,
  });
  servers.floor = floor;
  await waitReady(floor);
  const floorCheck = await fetch(`http://127.0.0.1:${pFloor}/`, {
    method: 'POST',
    headers: headers(),
    body: catalogue,
  });
  if (!Buffer.from(await floorCheck.arrayBuffer()).equals(hitBytes))
    throw new Error('the floor does not answer the stored bytes');
  log(
    `servers up: ${Object.entries(servers)
      .map(([k, s]) => `${k} :${s.port} pid ${s.pid}`)
      .join(', ')}`,
  );
  log(`catalogue answer: ${hitBytes.length} bytes, ${contentType}; stored for the floor`);
  /**
   * Whether `port` answers `payload` with the same data as the no-cache server: 'ok', 'list-order'
   * (equal but for the order of some list) or 'different'. A difference is logged and noted once per `what`.
   */
  const seen = new Set<string>();
  const sameData = async (
    port: number,
    payload: string,
    extra: Record<string, string> = {},
    what = 'answer',
  ): Promise<Answer> => {
    const [a, b] = await Promise.all([post(port, payload, extra), post(pNone, payload, extra)]);
    const da = dataOf(a, what);
    const db = dataOf(b, `${what} (no-cache server)`);
    const x = JSON.stringify(da);
    const y = JSON.stringify(db);
    if (x === y) return 'ok';
    const orderOnly = JSON.stringify(canonical(da)) === JSON.stringify(canonical(db));
    let i = 0;
    while (i < x.length && x[i] === y[i]) i++;
    const message =
      `${what}: the answer differs from the no-cache server's${orderOnly ? ' only in the order of a list' : ''}, ` +
      `first at character ${i}: …${x.slice(Math.max(0, i - 80), i + 80)}… vs …${y.slice(Math.max(0, i - 80), i + 80)}…`;
    if (!seen.has(what)) {
      seen.add(what);
      log(message);
      notes.push(message);
    }
    return orderOnly ? 'list-order' : 'different';
  };
  for (const [name, port] of [
    ['scenario-2 server', pMain],
    ['entity-cache server', pEntity],
    ['stock server', pStock],
  ] as const) {
    await sameData(port, catalogue, {}, `catalogue on the ${name}`);
  }

  // Scenarios.
  const mixedStates: MixedState[] = [];
  const correctness: { checked: number; mismatches: number; errors: number }[] = [];
  const targets: Target[] = [
    {
      key: 'floor',
      server: floor,
      load: () => ({ port: pFloor, body: catalogue }),
      after: async (run) => {
        const r = await fetch(`http://127.0.0.1:${pFloor}/`, { method: 'POST', headers: headers(), body: catalogue });
        run.answer = Buffer.from(await r.arrayBuffer()).equals(hitBytes) ? 'ok' : 'different';
      },
    },
    {
      key: 'hitPublic',
      server: servers.main,
      load: () => ({ port: pMain, body: catalogue }),
      after: async (run) => {
        run.answer = await sameData(pMain, catalogue, {}, 'catalogue on the scenario-2 server');
      },
    },
    {
      key: 'hitPrivate',
      server: servers.main,
      load: () => ({ port: pMain, requests: rotatingTokens(userTokens) }),
      // Every user's entry cached (entries live 60 s; a warm-up cut short would leave some cold).
      prime: async () => {
        await pool(userTokens, 20, (token) =>
          post(pMain, body(COLLECTION_QUERY), { authorization: `Bearer ${token}` }),
        );
      },
      after: async (run) => {
        const answers: Answer[] = [];
        for (const token of [
          userTokens[0]!,
          userTokens[Math.floor(userTokens.length / 2)]!,
          userTokens[userTokens.length - 1]!,
        ]) {
          const auth = { authorization: `Bearer ${token}` };
          const mine = dataOf(await post(pMain, body(COLLECTION_QUERY), auth), 'collection') as { me: unknown };
          answers.push(
            mine.me === null
              ? 'different'
              : await sameData(pMain, body(COLLECTION_QUERY), auth, 'collection on the scenario-2 server'),
          );
        }
        run.answer = answers.find((a) => a !== 'ok') ?? 'ok';
      },
    },
    {
      key: 'missEntity',
      server: servers.entity,
      load: () => ({ port: pEntity, body: catalogue }),
      after: async (run) => {
        run.answer = await sameData(pEntity, catalogue, {}, 'catalogue on the entity-cache server');
      },
    },
    {
      key: 'noCache',
      server: servers.none,
      load: () => ({ port: pNone, body: catalogue }),
      after: async (run) => {
        run.answer = dataOf(await post(pNone, catalogue), 'catalogue') !== null ? 'ok' : 'different';
      },
    },
    {
      key: 'mixed',
      server: servers.main,
      load: () => {
        // A fresh generator (and record of reads) per run; the warm-up's is thrown away.
        const { requests, state } = mixedWorkload({
          kitIds,
          clubIds,
          adminToken,
          writeShare: settings.mixedWriteShare,
          zipfS: settings.zipfS,
          seed: 1000 + mixedStates.length + Math.floor(Math.random() * 1e6),
        });
        mixedStates.push(state);
        return { port: pMain, requests };
      },
      after: async (run) => {
        const state = mixedStates[mixedStates.length - 1]!;
        const t0 = performance.now();
        const check = await checkCorrectness(state.reads.keys(), pMain, pNone);
        const seconds = (performance.now() - t0) / 1000;
        correctness.push(check);
        run.answer = check.mismatches === 0 && check.errors === 0 && state.graphqlErrors === 0 ? 'ok' : 'different';
        run.mixed = {
          reads: state.readCount,
          writes: state.writes,
          distinctReads: state.reads.size,
          graphqlErrors: state.graphqlErrors,
          graphqlErrorSamples: state.graphqlErrorSamples,
          correctness: { ...check, seconds },
        };
        log(
          `round ${run.round} mixed: ${state.readCount} reads (${state.reads.size} distinct), ${state.writes} renames, ${state.graphqlErrors} GraphQL errors; ` +
            `correctness: ${check.checked} checked in ${seconds.toFixed(1)} s, ${check.mismatches} mismatches, ${check.errors} errors`,
        );
        for (const sample of check.samples) log(`  mismatch: ${JSON.stringify(sample)}`);
      },
    },
    {
      key: 'stock',
      server: servers.stock,
      load: () => ({ port: pStock, body: catalogue }),
      after: async (run) => {
        const data = dataOf(await post(pStock, catalogue), 'stock catalogue') as { kits?: { edges?: unknown[] } };
        run.answer = data.kits?.edges?.length === 20 ? 'ok' : 'different';
      },
    },
  ];

  const runs: RunResult[] = [];
  const roundRatios: { round: number; ratios: Ratio[] }[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    const mine: RunResult[] = [];
    for (const target of targets) {
      mine.push(await measure(target, round));
    }
    runs.push(...mine);
    const rs = ratios(Object.fromEntries(mine.map((r) => [r.key, r.requestsPerSecond])));
    roundRatios.push({ round, ratios: rs });
    log(
      `round ${round} ratios: ${rs.map((r) => `${r.name} ${r.value === null ? 'null' : r.value.toFixed(2)}`).join(' · ')}`,
    );
  }

  // Stampede: the scenario-2 server's caches emptied (every key of the prefix), then N identical cold requests.
  const flushedKeys = await deletePrefixKeys(redis);
  await sleep(100);
  const sBefore = await snapshot(redis, servers.main.pid, pMain);
  const t0 = performance.now();
  const answers = await Promise.all(
    Array.from({ length: settings.stampedeConcurrency }, () =>
      post(pMain, catalogue).then(
        (r) => r,
        (error: Error) => ({ status: 0, text: error.message }),
      ),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  await sleep(300); // let the cache writes that follow the answers land before reading the counters
  const sAfter = await snapshot(redis, servers.main.pid, pMain);
  const sd = delta(sBefore, sAfter);
  const okAnswers = answers.filter((a) => a.status === 200 && !a.text.includes('"errors"'));
  const firstData = okAnswers[0] ? JSON.stringify(JSON.parse(okAnswers[0].text).data) : '';
  const stampede: Stampede = {
    concurrent: settings.stampedeConcurrency,
    query: CATALOGUE_QUERY,
    flushedKeys,
    seconds,
    ok: okAnswers.length,
    failed: answers.length - okAnswers.length,
    identicalAnswers: okAnswers.every((a) => JSON.stringify(JSON.parse(a.text).data) === firstData),
    sqlStatements: sd.sqlStatements,
    responseCacheMisses: sd.cacheMisses,
    responseCacheCoalesced: sd.cacheCoalesced,
    executions: sd.cacheMisses === null ? null : sd.cacheCoalesced !== null ? sd.cacheMisses - sd.cacheCoalesced : null,
    responseCacheHits: sd.cacheHits,
    redisCalls: sd.redisCalls,
  };
  log(
    `stampede: ${stampede.concurrent} concurrent cold requests → ${stampede.ok} ok, ${stampede.failed} failed in ${seconds.toFixed(2)} s; ` +
      `SQL statements ${stampede.sqlStatements ?? 'null'}, response-cache misses ${stampede.responseCacheMisses ?? 'null'} ` +
      `(coalesced ${stampede.responseCacheCoalesced ?? 'null'}, executions ${stampede.executions ?? 'null'}), ` +
      `hits ${stampede.responseCacheHits ?? 'null'}, Redis commands ${stampede.redisCalls}`,
  );

  // Summary.
  const summary = summarise(runs);
  const overall = medianRatios(roundRatios);
  const mixedRuns = runs.filter((r) => r.key === 'mixed');
  const mixedSummary = summary.find((s) => s.key === 'mixed');
  const mixed = mixedRuns.length
    ? {
        mismatches: correctness.reduce((n, c) => n + c.mismatches, 0),
        checked: correctness.reduce((n, c) => n + c.checked, 0),
        errors:
          correctness.reduce((n, c) => n + c.errors, 0) +
          mixedRuns.reduce((n, r) => n + (r.mixed?.graphqlErrors ?? 0), 0),
        hitRate: mixedSummary?.hitRate ?? null,
        writes: mixedRuns.reduce((n, r) => n + (r.mixed?.writes ?? 0), 0),
        reads: mixedRuns.reduce((n, r) => n + (r.mixed?.reads ?? 0), 0),
      }
    : null;

  // Things worth a second look.
  const noisy = runs.filter((r) => (r.otherCpuPercent ?? 0) > 25);
  if (noisy.length) {
    notes.push(
      `other processes on the machine used CPU during ${noisy.length} of ${runs.length} runs (up to ${Math.max(...noisy.map((r) => r.otherCpuPercent!)).toFixed(0)}% of a core: ` +
        `${noisy.map((r) => `r${r.round}/s${r.scenario} ${r.otherCpuPercent!.toFixed(0)}%`).join(', ')}): those numbers are disturbed.`,
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
  const serversInfo = Object.fromEntries(
    Object.entries(servers).map(([k, s]) => [k, { port: s.port, pid: s.pid, rssMiBAtEnd: rssMiB(s.pid) }]),
  );
  notes.push(
    'Redis commands and Redis CPU are read from the whole Redis server: other clients of the same Redis during the run would be counted too.',
  );

  return {
    startedAt,
    finishedAt: new Date().toISOString(),
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine,
    settings: { ...settings, database: databaseName, redisPrefix: prefix },
    dataset,
    servers: serversInfo,
    metricsEndpoint,
    runs,
    roundRatios,
    summary,
    ratios: overall,
    mixed,
    stampede,
    notes,
  };
}

let exitCode = 0;
try {
  const report = await main();
  const files = writeReport(resultsDir, report);
  console.log('');
  console.log(markdownTable(report.summary));
  console.log('');
  for (const r of report.ratios)
    console.log(`${r.name} (median of rounds): ${r.value === null ? 'null' : `${r.value.toFixed(2)}×`}`);
  if (report.mixed) {
    console.log(
      `mixed workload: ${report.mixed.mismatches} mismatches in ${report.mixed.checked} checks (${report.mixed.errors} errors), hit rate ${report.mixed.hitRate === null ? 'null' : (report.mixed.hitRate * 100).toFixed(1) + '%'}`,
    );
  }
  if (report.stampede) {
    console.log(
      `stampede (${report.stampede.concurrent} cold requests): SQL statements ${report.stampede.sqlStatements ?? 'null'}, response-cache misses ${report.stampede.responseCacheMisses ?? 'null'} ` +
        `(coalesced ${report.stampede.responseCacheCoalesced ?? 'null'}, executions ${report.stampede.executions ?? 'null'})`,
    );
  }
  for (const note of report.notes) console.log(`note: ${note}`);
  console.log(
    `\nwrote ${path.relative(root, files.json)}, ${path.relative(root, files.stamped)}, ${path.relative(root, files.md)}`,
  );
  if (report.mixed && (report.mixed.mismatches > 0 || report.mixed.errors > 0)) exitCode = 1;
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
