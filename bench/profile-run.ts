/**
 * `npm run bench:profile [-- --config entity|none|both|private|mixed --seconds 15 --kits N --siblings N --no-build]`: where one
 * server's CPU goes under load (issue 15's miss path). Builds the server (unless --no-build), makes
 * and seeds its own database (kitvault_profile on BENCH_DATABASE_URL's server), starts one server
 * under `node --cpu-prof` in the chosen cache configuration (entity: response cache off, entity cache
 * warm, the default: the miss path; none: no caches; both: the hit path; private: private hits,
 * scenario 3's rotating tokens; mixed: both caches under scenario 6's reads and renames), drives the
 * catalogue query (or that workload) at it with autocannon (50 connections) after a warm-up (with --siblings N, beside N idle
 * instances of the same deployment), stops it (SIGTERM: it exits and V8 writes
 * the profile), and writes bench/results/profile-<config>.md (profile-<config>-siblings<N>.md with --siblings): the
 * requests' time by operation, then time by layer, by function, and our
 * functions by inclusive time. The .cpuprofile is kept in the log directory it prints (a flame graph
 * in Chrome DevTools or speedscope). Its Redis keys (prefix kvprof:<pid>:) and database are removed.
 * The profiler slows the server: compare shares between profiles, and req/s only in `npm run bench`.
 * BENCH_SERVER_MAIN=<another build's dist/src/main.js> profiles that build instead (e.g. the build an
 * issue measured, for its flame graph before); its report goes to the same file, so copy it first.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { mintTokens, readDataset } from './dataset.js';
import { withOwnDeployment } from './own-deployment.js';
import { log } from './log.js';
import { cannon } from './measure.js';
import { resultsDir, root } from './options.js';
import { cpuSeconds, freePort, runTool, start, stop, waitReady, type Server } from './processes.js';
import { scrape } from './probes.js';
import { readProfile, renderSummary, summarise } from './profile-report.js';
import { body, CATALOGUE_QUERY, dataOf, mixedWorkload, post, rotatingTokens } from './scenarios.js';
import { buildServer, ourServerEnv, SERVER_NODE_FLAGS, serverMain } from './servers.js';
import { renderTimings, timingRows } from './server-timings.js';

const CONFIGS = {
  entity: { responseCache: 'off', entityCache: 'on', what: 'response cache off, entity cache warm (the miss path)' },
  none: { responseCache: 'off', entityCache: 'off', what: 'no caches' },
  both: { responseCache: 'on', entityCache: 'on', what: 'both caches (the hit path)' },
  private: {
    responseCache: 'on',
    entityCache: 'on',
    what: "both caches, private hits (scenario 3: each user's collection, 200 users' tokens in turn)",
  },
  mixed: {
    responseCache: 'on',
    entityCache: 'on',
    what: 'both caches, the mixed workload (scenario 6: 95 % Zipf reads, 5 % renames)',
  },
} as const;
type ConfigName = keyof typeof CONFIGS;
const isConfig = (name: string): name is ConfigName => name in CONFIGS;

function readFlags() {
  const { values } = parseArgs({
    options: {
      config: { type: 'string', default: 'entity' },
      seconds: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '3' },
      connections: { type: 'string', default: '50' },
      kits: { type: 'string' },
      siblings: { type: 'string', default: '0' },
      'no-build': { type: 'boolean', default: false },
    },
  });
  const fail = (message: string): never => {
    console.error(message);
    process.exit(2);
  };
  const int = (name: string, text: string) => {
    const n = Number(text);
    return Number.isInteger(n) && n > 0 ? n : fail(`--${name} must be a positive integer (got ${text})`);
  };
  const config = isConfig(values.config)
    ? values.config
    : fail(`--config must be one of ${Object.keys(CONFIGS).join(', ')}`);
  return {
    config,
    seconds: int('seconds', values.seconds),
    warmup: int('warmup', values.warmup),
    connections: int('connections', values.connections),
    kits: values.kits === undefined ? null : int('kits', values.kits),
    siblings: Number(values.siblings) === 0 ? 0 : int('siblings', values.siblings),
    build: !values['no-build'],
  };
}

const flags = readFlags();
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const databaseName = 'kitvault_profile';
const prefix = `kvprof:${process.pid}:`;
const logDir = mkdtempSync(path.join(os.tmpdir(), 'kitvault-profile-'));

const commit = () => {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};

/** BENCH_SERVER_MAIN: another build's dist/src/main.js to profile instead (as bench:cost measures one). */
const otherBuild = process.env.BENCH_SERVER_MAIN || null;

async function main() {
  const config = CONFIGS[flags.config];
  log(`profiling "${config.what}"; logs and the profile in ${logDir}`);
  await buildServer({ build: flags.build, root, logDir });
  const mainJs = serverMain(root, otherBuild);
  const deployment = { adminUrl, redisUrl, databaseName, prefix, kits: flags.kits, root, logDir };
  await withOwnDeployment(deployment, async (databaseUrl) => {
    const port = await freePort();
    /** One instance of the profiled deployment (this database, this prefix, the chosen caches). */
    const startInstance = async (name: string, port: number, nodeFlags: readonly string[]) => {
      const instance = start({
        name,
        command: process.execPath,
        args: [...SERVER_NODE_FLAGS, ...nodeFlags, mainJs],
        env: ourServerEnv({
          databaseUrl,
          redisUrl,
          port,
          responseCache: config.responseCache,
          entityCache: config.entityCache,
          prefix,
        }),
        cwd: root,
        logDir,
        port,
      });
      await waitReady(instance);
      return instance;
    };
    const server = await startInstance('profiled', port, ['--cpu-prof', '--cpu-prof-dir', logDir]);
    // Idle instances of the same deployment (same database and prefix), as behind a balancer: what
    // they cost the profiled one (its writes wait for their in-process layers) shows beside a run without.
    const siblings: Server[] = [];
    for (let i = 0; i < flags.siblings; i++)
      siblings.push(await startInstance(`sibling-${i + 1}`, await freePort(), []));
    const catalogue = body(CATALOGUE_QUERY);
    dataOf(await post(port, catalogue), 'the catalogue query');
    const load =
      flags.config === 'mixed'
        ? await mixedLoad(port, databaseUrl)
        : flags.config === 'private'
          ? await privateLoad(port, databaseUrl)
          : () => ({ port, body: catalogue });
    log(`warm-up ${flags.warmup} s, then ${flags.seconds} s profiled, ${flags.connections} connections`);
    await cannon(load(), flags.warmup, flags.connections);
    const before = await scrape(port);
    const cpuBefore = [server, ...siblings].map((s) => cpuSeconds(s.pid) ?? 0);
    const startedAt = performance.now();
    const result = await cannon(load(), flags.seconds, flags.connections);
    const elapsed = (performance.now() - startedAt) / 1000;
    const cpuShare = [server, ...siblings].map((s, i) => ((cpuSeconds(s.pid) ?? 0) - cpuBefore[i]!) / elapsed);
    const timings = timingRows(before, await scrape(port));
    await stop(server, 20_000);
    const file = readdirSync(logDir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`the server wrote no .cpuprofile to ${logDir}`);
    const summary = summarise(readProfile(path.join(logDir, file)));
    // A run beside siblings is a comparison of its own: it does not replace the plain profile.
    const suffix = flags.siblings > 0 ? `-siblings${flags.siblings}` : '';
    const out = path.join(resultsDir, `profile-${flags.config}${suffix}.md`);
    writeFileSync(
      out,
      renderSummary(
        `Where the CPU goes: ${config.what}`,
        [
          `Written by \`npm run bench:profile -- --config ${flags.config}${flags.siblings > 0 ? ` --siblings ${flags.siblings}` : ''}\` (bench/profile-run.ts) on ${new Date().toISOString()} at ${commit()}${otherBuild ? ` (the server: ${otherBuild})` : ''}: one server under \`node --cpu-prof\`, ${flags.config === 'mixed' ? 'the mixed workload' : flags.config === 'private' ? "each user's collection query, 200 users' tokens in turn" : 'the catalogue query'} (bench/scenarios.ts) from ${flags.connections} connections for ${flags.seconds} s after ${flags.warmup} s of warm-up. The profile spans the server's whole life (start and warm-up included); shares are of the time it was busy.`,
          '',
          ...(flags.siblings > 0
            ? [
                `- ${flags.siblings} more instance(s) of the same deployment (same database and Redis prefix) ran idle beside it (\`--siblings\`), using ${cpuShare
                  .slice(1)
                  .map((c) => `${Math.round(c * 100)} %`)
                  .join(
                    ', ',
                  )} of a core during the profiled run (the profiled server: ${Math.round(cpuShare[0]! * 100)} %).`,
              ]
            : []),
          `- Under the profiler: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.non2xx} non-2xx, ${result.errors} errors (the profiler slows the server: compare req/s in \`npm run bench\` only).`,
          '',
          "## Where the requests' time went (the profiled run only, waits included)",
          '',
          "From the server's own `kitvault_graphql_request_duration_seconds` (bench/server-timings.ts), by operation and cache result. A server not busy all the time is bound by the waits these include.",
          '',
          ...renderTimings(timings),
          '',
        ],
        summary,
      ),
    );
    log(`written ${path.relative(root, out)}; the profile: ${path.join(logDir, file)}`);
    for (const row of summary.layers.slice(0, 12)) log(`  ${(row.share * 100).toFixed(1).padStart(5)} %  ${row.name}`);
  });
}

/** Scenario 6's requests over the profiled database, with an admin token for its renames. */
async function mixedLoad(port: number, databaseUrl: string) {
  const dataset = await readDataset(databaseUrl);
  const { adminToken } = await mintTokens(databaseUrl, 0);
  return () => {
    const { requests } = mixedWorkload({
      kitIds: dataset.kitIds,
      clubIds: dataset.clubIds,
      adminToken,
      writeShare: 0.05,
      zipfS: 1,
      seed: 1000 + Math.floor(Math.random() * 1e6),
    });
    return { port, requests };
  };
}

async function privateLoad(port: number, databaseUrl: string) {
  const { userTokens } = await mintTokens(databaseUrl, 200);
  return () => ({ port, requests: rotatingTokens(userTokens) });
}

runTool(main, logDir);
