/**
 * The servers under test, each its own process on a loopback port: our build in three cache
 * configurations, the stock configuration, yoga on the same schema from in-process memory, the
 * floor, and (with BENCH_BASELINE_MAIN) another build in two configurations. Also the build itself
 * and what each server's /metrics offers.
 */
import type { Redis } from 'ioredis';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Keys } from './keys.js';
import { log } from './log.js';
import { RC_METRIC, scrape, SQL_METRIC } from './probes.js';
import { childEnv, freePort, runToEnd, start, waitReady, type Server } from './processes.js';
import { dataOf, GRAPHQL_PATH, headers, post } from './scenarios.js';

/** `npm run build`, unless --no-build. */
export async function buildServer(options: { build: boolean; root: string; logDir: string }): Promise<void> {
  if (!options.build) {
    log('--no-build: using the existing dist/');
    return;
  }
  log('building (npm run build)');
  const t = performance.now();
  await runToEnd(
    {
      name: 'build',
      command: 'npm',
      args: ['run', 'build'],
      env: childEnv({}),
      cwd: options.root,
      logDir: options.logDir,
    },
    5 * 60_000,
  );
  log(`built in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** The node flags our server runs with, as `npm start` and the image give them (README, Memory). */
export const SERVER_NODE_FLAGS = ['--max-old-space-size=1024'];

/** The main.js to measure: BENCH_SERVER_MAIN, else this checkout's build. */
export function serverMain(root: string, override: string | null): string {
  const mainJs = override ?? path.join(root, 'dist', 'src', 'main.js');
  if (!existsSync(mainJs)) throw new Error(`${mainJs} is missing: run npm run build`);
  return mainJs;
}

/** The environment our server is measured in: loopback, production mode, quiet logs, caches as asked. */
export function ourServerEnv(options: {
  databaseUrl: string;
  redisUrl: string;
  port: number;
  responseCache: 'on' | 'off';
  entityCache: 'on' | 'off';
  prefix: string;
}): NodeJS.ProcessEnv {
  return childEnv({
    DATABASE_URL: options.databaseUrl,
    REDIS_URL: options.redisUrl,
    REDIS_PREFIX: options.prefix,
    ...quietServer(options.port),
    RESPONSE_CACHE: options.responseCache,
    ENTITY_CACHE: options.entityCache,
  });
}

const quietServer = (port: number) => ({
  PORT: String(port),
  HOST: '127.0.0.1',
  CACHE_DEBUG: 'off',
  LOG_LEVEL: 'warn',
  NODE_ENV: 'production',
});

/**
 * Thirteen of the bench's processes connect to one Postgres (max_connections: 100 by default), and
 * a server keeps every connection its pool opened (postgres-js retires one only after 30-60 min;
 * its idle timeout never fires while the followers' polls take the idle connections in turn): the
 * servers only asked for answers to check get pools this small, and 6h's three instances this much
 * each. With these sizes the peak seen was 88 connections (94 with 6h's at 5 and checkers at 4).
 */
export const CHECKER_POOL_SIZE = 3;
export const BALANCED_POOL_SIZE = 4;

/**
 * The truth for a copy of the database (the baseline's, scenario 6's): our build with no caches and
 * no Redis at all, so it reads the copy's rows and touches nothing in Redis (the baseline's keys,
 * or a channel).
 */
function truthServerEnv(databaseUrl: string, port: number): NodeJS.ProcessEnv {
  const env = childEnv({
    DATABASE_URL: databaseUrl,
    ...quietServer(port),
    RESPONSE_CACHE: 'off',
    ENTITY_CACHE: 'off',
    DATABASE_POOL_SIZE: String(CHECKER_POOL_SIZE),
  });
  delete env.REDIS_URL;
  delete env.REDIS_CLUSTER_NODES;
  return env;
}

/** Key order is the order of "servers" in the report and in the "servers up" line. */
export type Servers = {
  /**
   * Both caches on: scenarios 2, 3 and the stampede. The entity server, the no-cache server and
   * 6h's three instances share its deployment (its database and Redis prefix).
   */
  main: Server;
  /** Response cache off, entity cache on: scenario 4. */
  entity: Server;
  /** No caches: scenario 5, and the truth every answer is checked against. */
  none: Server;
  stock: Server;
  /** Yoga on the same SDL answering from in-process memory: scenario 4y, the miss path's yardstick. */
  memory: Server;
  /** Both caches on, a deployment of one on scenario 6's copy of the database: scenario 6. */
  mixed: Server;
  /** Ours with no caches and no Redis on scenario 6's copy: the truth 6 is checked against. */
  noneMixed: Server;
  /** The baseline build as `main`: scenario 2b. */
  mainBaseline?: Server;
  /** The baseline build as `entity`: scenario 4b. */
  entityBaseline?: Server;
  /** Ours with no caches on the baseline's copy of the database: the truth 2b, 4b and 6b are checked against. */
  noneBaseline?: Server;
  floor?: Server;
};

export type ServerSetup = {
  root: string;
  mainJs: string;
  baselineMain: string | null;
  databaseUrl: string;
  /** The baseline build's copy of the bench database (its servers and their truth use it). */
  baselineDatabaseUrl: string;
  /** Scenario 6's copy of the bench database (its server and its truth use it). */
  mixedDatabaseUrl: string;
  redisUrl: string;
  keys: Keys;
  logDir: string;
};

/**
 * Starts our three configurations, the stock server, the in-memory yoga and, when there is a
 * baseline build, its two; resolves when all answer. Says whether our server had GET /ready (older
 * builds may not).
 */
export async function startServers(setup: ServerSetup): Promise<{ servers: Servers; ourReadyEndpoint: boolean }> {
  const { root, mainJs, baselineMain, databaseUrl, baselineDatabaseUrl, mixedDatabaseUrl, redisUrl, keys, logDir } =
    setup;
  const [pMain, pEntity, pNone, pStock, pMemory, pMixed, pNoneMixed] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const serverEnv = (port: number, responseCache: 'on' | 'off', entityCache: 'on' | 'off', prefix: string) =>
    ourServerEnv({ databaseUrl, redisUrl, port, responseCache, entityCache, prefix });
  const node = process.execPath;
  const servers: Servers = {
    main: start({
      name: 'server-both-caches',
      command: node,
      args: [...SERVER_NODE_FLAGS, mainJs],
      env: serverEnv(pMain, 'on', 'on', keys.prefix),
      cwd: root,
      logDir,
      port: pMain,
    }),
    entity: start({
      name: 'server-entity-cache',
      command: node,
      args: [...SERVER_NODE_FLAGS, mainJs],
      env: serverEnv(pEntity, 'off', 'on', keys.prefix),
      cwd: root,
      logDir,
      port: pEntity,
    }),
    none: start({
      name: 'server-no-cache',
      command: node,
      args: [...SERVER_NODE_FLAGS, mainJs],
      env: serverEnv(pNone, 'off', 'off', keys.prefix),
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
        DATABASE_URL: databaseUrl,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: keys.stock,
        LOG_LEVEL: 'warn',
        NODE_ENV: 'production',
      }),
      cwd: root,
      logDir,
      port: pStock,
    }),
    memory: start({
      name: 'memory-yoga',
      command: node,
      args: ['--import', 'tsx', path.join(root, 'bench', 'memory-server.ts')],
      env: childEnv({
        PORT: String(pMemory),
        HOST: '127.0.0.1',
        DATABASE_URL: databaseUrl,
        NODE_ENV: 'production',
      }),
      cwd: root,
      logDir,
      port: pMemory,
    }),
    mixed: start({
      name: 'server-mixed',
      command: node,
      args: [...SERVER_NODE_FLAGS, mainJs],
      env: ourServerEnv({
        databaseUrl: mixedDatabaseUrl,
        redisUrl,
        port: pMixed,
        responseCache: 'on',
        entityCache: 'on',
        prefix: keys.mixed,
      }),
      cwd: root,
      logDir,
      port: pMixed,
    }),
    noneMixed: start({
      name: 'mixed-truth-no-cache',
      command: node,
      args: [...SERVER_NODE_FLAGS, mainJs],
      env: truthServerEnv(mixedDatabaseUrl, pNoneMixed),
      cwd: root,
      logDir,
      port: pNoneMixed,
    }),
  };
  if (baselineMain !== null) {
    // The same environment as its counterpart but its own prefix and its own copy of the database
    // (the mixed workload's renames on either build change only its own data, so neither pays for
    // the other's: our servers follow the change log, which would record the baseline's renames as
    // writes from outside). Its cwd is its own checkout (dist/src/main.js → two levels up), where
    // that build finds its migrations and schema.
    const baselineRoot = path.resolve(path.dirname(baselineMain), '..', '..');
    const [pMainBaseline, pEntityBaseline, pNoneBaseline] = await Promise.all([freePort(), freePort(), freePort()]);
    const baselineEnv = (port: number, responseCache: 'on' | 'off', entityCache: 'on' | 'off', prefix: string) =>
      ourServerEnv({ databaseUrl: baselineDatabaseUrl, redisUrl, port, responseCache, entityCache, prefix });
    servers.mainBaseline = start({
      name: 'baseline-server-both-caches',
      command: node,
      args: [...SERVER_NODE_FLAGS, baselineMain],
      env: baselineEnv(pMainBaseline, 'on', 'on', keys.mainBaseline),
      cwd: baselineRoot,
      logDir,
      port: pMainBaseline,
    });
    servers.entityBaseline = start({
      name: 'baseline-server-entity-cache',
      command: node,
      args: [...SERVER_NODE_FLAGS, baselineMain],
      env: baselineEnv(pEntityBaseline, 'off', 'on', keys.entityBaseline),
      cwd: baselineRoot,
      logDir,
      port: pEntityBaseline,
    });
    servers.noneBaseline = start({
      name: 'baseline-truth-no-cache',
      command: node,
      args: [...SERVER_NODE_FLAGS, mainJs],
      env: truthServerEnv(baselineDatabaseUrl, pNoneBaseline),
      cwd: root,
      logDir,
      port: pNoneBaseline,
    });
  }
  const ready = new Map(
    await Promise.all(listening(servers).map(async ([name, s]) => [name, (await waitReady(s)).ready] as const)),
  );
  const ourReadyEndpoint = ['main', 'entity', 'none'].every((name) => ready.get(name) === 'ready-endpoint');
  return { servers, ourReadyEndpoint };
}

/** The servers started so far, in report order. */
export function listening(servers: Servers): [string, Server][] {
  return Object.entries(servers).filter((entry): entry is [string, Server] => entry[1] !== undefined);
}

/** Which servers have GET /metrics with the counters the report needs; what they lack becomes a note. */
export async function checkMetrics(servers: Servers, notes: string[]): Promise<Record<string, boolean>> {
  const metricsEndpoint: Record<string, boolean> = {};
  for (const [name, server] of listening(servers)) {
    const samples = await scrape(server.port);
    metricsEndpoint[name] = samples !== null;
    const missing = [SQL_METRIC, RC_METRIC].filter((m) => !samples?.has(m));
    if (!samples)
      notes.push(
        `server "${name}" has no GET /metrics (or it is not Prometheus text): its SQL/req and hit rate are null.`,
      );
    else if (missing.length)
      notes.push(`server "${name}" /metrics lacks ${missing.join(', ')}: those columns are null.`);
  }
  return metricsEndpoint;
}

export type CatalogueHit = { bytes: Buffer; contentType: string };

/** The catalogue answer as the scenario-2 server sends it from its cache (asked twice: the second is a hit). */
export async function fetchCatalogueHit(main: Server, catalogue: string): Promise<CatalogueHit> {
  dataOf(await post(main.port, catalogue), 'catalogue on the scenario-2 server');
  const response = await fetch(`http://127.0.0.1:${main.port}${GRAPHQL_PATH}`, {
    method: 'POST',
    headers: headers(),
    body: catalogue,
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  const contentType = response.headers.get('content-type') ?? 'application/json; charset=utf-8';
  if (response.status !== 200)
    throw new Error(`catalogue query: status ${response.status}: ${bytes.toString().slice(0, 300)}`);
  return { bytes, contentType };
}

/** Stores the hit's bytes where the floor reads them, starts the floor and checks it answers exactly those bytes. */
export async function startFloor(setup: {
  root: string;
  redis: Redis;
  redisUrl: string;
  floorKey: string;
  logDir: string;
  hit: CatalogueHit;
  catalogue: string;
}): Promise<Server> {
  const { root, redis, redisUrl, floorKey, logDir, hit, catalogue } = setup;
  await redis.set(floorKey, hit.bytes, 'EX', 3600);
  const port = await freePort();
  const floor = start({
    name: 'floor',
    command: process.execPath,
    args: ['--import', 'tsx', path.join(root, 'bench', 'floor-server.ts')],
    env: childEnv({
      PORT: String(port),
      HOST: '127.0.0.1',
      REDIS_URL: redisUrl,
      FLOOR_KEY: floorKey,
      FLOOR_CONTENT_TYPE: hit.contentType,
      NODE_ENV: 'production',
    }),
    cwd: root,
    logDir,
    port,
  });
  await waitReady(floor);
  const check = await fetch(`http://127.0.0.1:${port}/`, { method: 'POST', headers: headers(), body: catalogue });
  if (!Buffer.from(await check.arrayBuffer()).equals(hit.bytes))
    throw new Error('the floor does not answer the stored bytes');
  return floor;
}
