/**
 * What a bench run is asked to do: the command-line flags, the settings derived from them, and the
 * environment (where Postgres and Redis are, which builds to measure). Bad values stop the run with
 * exit code 2 before anything is created.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The checkout this harness belongs to (it builds and seeds from here). */
export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const resultsDir = path.join(root, 'bench', 'results');

export type Settings = {
  quick: boolean;
  rounds: number;
  durationS: number;
  warmupS: number;
  connections: number;
  /** null: the seed's default (20,000). */
  kits: number | null;
  privateUsers: number;
  mixedWriteShare: number;
  zipfS: number;
  stampedeConcurrency: number;
  /** Length of each phase of the fault scenario (all phases equally long). */
  faultPhaseS: number;
};

export type Options = {
  settings: Settings;
  build: boolean;
  keepDb: boolean;
  /** The fault scenario (a Redis and a Postgres outage through TCP proxies); off with --no-faults. */
  faults: boolean;
  /** Scenarios 2h and 6h (three instances behind HAProxy); off with --no-balancer. */
  balancer: boolean;
  adminUrl: string;
  databaseName: string;
  /** The bench database on the server of adminUrl. */
  benchDatabaseUrl: string;
  /**
   * The baseline build's copy of the bench database (`<name>_baseline`, made from it after seeding),
   * so neither build's writes reach the other's data, change log or caches.
   */
  baselineDatabaseName: string;
  baselineDatabaseUrl: string;
  /**
   * Scenario 6's copy of the bench database (`<name>_mixed`, made as the baseline's is, on every run): its server is
   * a deployment of one, as 6b's is, and its renames leave the other scenarios' data alone.
   */
  mixedDatabaseName: string;
  mixedDatabaseUrl: string;
  redisUrl: string;
  /** BENCH_SERVER_MAIN, resolved; null: this checkout's dist/src/main.js (checked after the build). */
  serverMain: string | null;
  /** BENCH_BASELINE_MAIN, resolved and checked to exist; null: no baseline scenarios. */
  baselineMain: string | null;
};

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

export function readOptions(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Options {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      kits: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      'keep-db': { type: 'boolean', default: false },
      'no-faults': { type: 'boolean', default: false },
      'no-balancer': { type: 'boolean', default: false },
      'fault-phase': { type: 'string' },
    },
    allowPositionals: false,
  });

  const numberFlag = (
    name: 'rounds' | 'duration' | 'warmup' | 'connections' | 'kits' | 'fault-phase',
    fallback: number,
    min: number,
  ): number => {
    const raw = flags[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min) fail(`--${name} must be a number ≥ ${min}, got "${raw}"`);
    return n;
  };

  const quick = flags.quick === true;
  // Key order is the order of "settings" in the JSON report.
  const settings: Settings = {
    quick,
    rounds: numberFlag('rounds', quick ? 1 : 3, 1),
    durationS: numberFlag('duration', quick ? 3 : 10, 1),
    warmupS: numberFlag('warmup', quick ? 1 : 2, 0),
    connections: numberFlag('connections', 50, 1),
    kits: flags.kits !== undefined ? numberFlag('kits', 0, 0) : quick ? 5000 : null,
    privateUsers: 200,
    mixedWriteShare: 0.05,
    zipfS: 1.0,
    stampedeConcurrency: 500,
    faultPhaseS: numberFlag('fault-phase', quick ? 6 : 10, 1),
  };

  const adminUrl = env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const databaseName = env.BENCH_DATABASE_NAME ?? 'kitvault_bench';
  const redisUrl = env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  // The name goes into unquotable places (create/drop database): keep it to a safe alphabet.
  if (!/^[a-z0-9_]+$/.test(databaseName))
    fail(`BENCH_DATABASE_NAME must be lowercase letters, digits and _, got "${databaseName}"`);
  // Postgres cuts names at 63 bytes; the baseline's copy adds "_baseline" (the longest suffix).
  if (databaseName.length > 63 - '_baseline'.length)
    fail(`BENCH_DATABASE_NAME must be at most ${63 - '_baseline'.length} characters, got ${databaseName.length}`);
  const bench = new URL(adminUrl);
  bench.pathname = `/${databaseName}`;
  const baselineDatabaseName = `${databaseName}_baseline`;
  const baselineBench = new URL(adminUrl);
  baselineBench.pathname = `/${baselineDatabaseName}`;
  const mixedDatabaseName = `${databaseName}_mixed`;
  const mixedBench = new URL(adminUrl);
  mixedBench.pathname = `/${mixedDatabaseName}`;

  // The baseline is never built here, so a wrong path is known now, before a database is made.
  const baselineMain = env.BENCH_BASELINE_MAIN ? path.resolve(env.BENCH_BASELINE_MAIN) : null;
  if (baselineMain !== null && !existsSync(baselineMain))
    fail(`BENCH_BASELINE_MAIN: ${baselineMain} is missing (build that checkout first)`);

  return {
    settings,
    build: !flags['no-build'],
    keepDb: flags['keep-db'] === true,
    faults: flags['no-faults'] !== true,
    balancer: flags['no-balancer'] !== true,
    adminUrl,
    databaseName,
    benchDatabaseUrl: bench.toString(),
    baselineDatabaseName,
    baselineDatabaseUrl: baselineBench.toString(),
    mixedDatabaseName,
    mixedDatabaseUrl: mixedBench.toString(),
    redisUrl,
    serverMain: env.BENCH_SERVER_MAIN ? path.resolve(env.BENCH_SERVER_MAIN) : null,
    baselineMain,
  };
}

export const isLoopback = (url: string): boolean =>
  ['127.0.0.1', 'localhost', '[::1]', '::1'].includes(new URL(url).hostname);
