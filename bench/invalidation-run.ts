/**
 * `npm run bench:invalidation [-- --sizes 10000,100000,1000000]`: what one invalidation costs as
 * the response cache grows (issue 14). For each size N, on a fresh redis-server of its own (a free
 * loopback port, no maxmemory, no persistence; stopped by its process group id, also on errors and
 * Ctrl-C): fills N entries through the ResponseStore, reads Redis memory per entry, then runs the
 * mutations (a createKit first, then renames, moves and creates) while a background refill keeps
 * re-storing what they drop, and reports their latency and the longest Redis block (SLOWLOG).
 * Writes bench/results/invalidation.{json,md} (rows of other sizes are kept).
 *
 * The store is the app's: `createRedisResponseStore` on the app's Redis client, through the public
 * ResponseStore interface only, so the bench measures whichever store src/ holds.
 *
 * Flags: --sizes (default 10000,100000,1000000), --mutations (200), --gap-ms between mutations (100),
 * --fill-concurrency (64), --refill-concurrency (16), --refill-rate (refills started per second, 500:
 * the same background load at every size, about one API instance's misses; 0 for as fast as Redis
 * takes them), --no-pin (by default, on 2 or more CPUs, the bench runs on CPU 0 and its redis-server
 * on CPU 1, so a block is Redis working, not Redis waiting for a core), --timeout-ms (the client's command timeout,
 * 120000: far past the server's 500 ms, so a slow invalidation is measured rather than failed),
 * --out (results path without extension, default bench/results/invalidation),
 * --redis-server (the binary, default redis-server).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RedisClient } from '../src/cache/redis/client.js';
import { createRedisResponseStore } from '../src/cache/response/index.js';
import { connectRedis, createRedis } from '../src/cache/redis/client.js';
import { fill, lookups, mutate, Refill } from './invalidation-phases.js';
import {
  commandMicros,
  mainThreadCpuSeconds,
  redisVersion,
  SlowlogWatch,
  startRedis,
  stopRedis,
  usedMemory,
  type OwnRedis,
} from './invalidation-redis.js';
import { summariseRuns, writeResults, type SizeRow } from './invalidation-report.js';
import { buildWorkload, entriesTagged, planMutations } from './invalidation-workload.js';
import { log } from './log.js';
import { resultsDir, root } from './options.js';
import { killAllSync, stopAll } from './processes.js';

const PREFIX = 'kv:';
/** Lookups of filled entries before the mutations, to read what a hit costs Redis. */
const HIT_LOOKUPS = 20_000;

const defaultOut = path.join(resultsDir, 'invalidation');

function readFlags() {
  const { values } = parseArgs({
    options: {
      sizes: { type: 'string', default: '10000,100000,1000000' },
      mutations: { type: 'string', default: '200' },
      'gap-ms': { type: 'string', default: '100' },
      'fill-concurrency': { type: 'string', default: '64' },
      'refill-concurrency': { type: 'string', default: '16' },
      'refill-rate': { type: 'string', default: '500' },
      'no-pin': { type: 'boolean', default: false },
      'timeout-ms': { type: 'string', default: '120000' },
      out: { type: 'string', default: defaultOut },
      'redis-server': { type: 'string', default: 'redis-server' },
    },
  });
  const int = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) {
      console.error(`--${name} must be an integer ≥ ${min} (got ${text})`);
      process.exit(2);
    }
    return n;
  };
  return {
    sizes: values.sizes.split(',').map((s) => int('sizes', s.trim(), 100)),
    settings: {
      mutations: int('mutations', values.mutations, 1),
      gapMs: int('gap-ms', values['gap-ms'], 0),
      fillConcurrency: int('fill-concurrency', values['fill-concurrency'], 1),
      refillConcurrency: int('refill-concurrency', values['refill-concurrency'], 1),
      refillRate: int('refill-rate', values['refill-rate'], 0),
      timeoutMs: int('timeout-ms', values['timeout-ms'], 100),
    },
    out: path.resolve(values.out),
    redisServer: values['redis-server'],
    pin: !values['no-pin'] && os.cpus().length >= 2,
  };
}

const flags = readFlags();
const load = () => os.loadavg().map((v) => Math.round(v * 100) / 100);

/** Pins this process to CPU 0 (every thread), leaving CPU 1 to redis-server; answers what was done. */
function pinCores(): { pinned: string; redisCpu?: number } {
  if (!flags.pin) return { pinned: 'not pinned' };
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return { pinned: 'not pinned (taskset failed)' };
  }
  return { pinned: 'the bench on CPU 0, redis-server on CPU 1', redisCpu: 1 };
}
const cores = pinCores();

function commit(): string {
  try {
    const hash = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: root,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${hash} (a store modified)` : hash;
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------- cleanup

let own: OwnRedis | null = null;
let client: RedisClient | null = null;
const logDir = mkdtempSync(path.join(os.tmpdir(), 'kitvault-invbench-'));

async function release(): Promise<void> {
  client?.disconnect();
  client = null;
  if (own) await stopRedis(own);
  own = null;
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    console.error(`\n${signal}: stopping redis-server`);
    void release()
      .then(stopAll)
      .finally(() => process.exit(130));
  });
}
process.on('exit', () => killAllSync());

// ---------------------------------------------------------------- one size

async function runSize(size: number): Promise<SizeRow> {
  const loadStart = load();
  const date = new Date().toISOString();
  log(`${size.toLocaleString('en-US')} entries: building the workload (load average ${loadStart.join(' ')})`);
  const w = buildWorkload(size);
  const mutations = planMutations(w, flags.settings.mutations);

  own = await startRedis(flags.redisServer, logDir, `redis-${size}`, cores.redisCpu);
  const { admin } = own;
  const redis = createRedis({ url: own.url, timeoutMs: flags.settings.timeoutMs });
  client = redis;
  const failed = await connectRedis(redis);
  if (failed) throw failed;
  const store = createRedisResponseStore({ redis, prefix: PREFIX });
  const version = await redisVersion(admin);
  const watch = new SlowlogWatch(admin, PREFIX);

  const before = await usedMemory(admin);
  await admin.config('RESETSTAT');
  await watch.begin();
  let lastLog = performance.now();
  const filled = await fill(store, w, flags.settings.fillConcurrency, (done) => {
    if (performance.now() - lastLog < 10_000) return;
    lastLog = performance.now();
    log(`  fill: ${done.toLocaleString('en-US')} of ${size.toLocaleString('en-US')}`);
  });
  const fillBlocks = await watch.end();
  const fillMicros = await commandMicros(admin);
  const after = await usedMemory(admin);
  const { entries } = await store.stats();
  let valueBytes = 0;
  for (let i = 0; i < size; i++) valueBytes += w.entryValue(i).length;
  log(
    `  filled in ${(filled.ms / 1000).toFixed(1)} s (${filled.stored} stored, ${filled.refused} refused); ` +
      `${Math.round((after - before) / size)} B/entry; Redis busy ${Math.round(fillMicros / size)} µs/entry; ` +
      `longest block ${fillBlocks.longest?.us ?? 0} µs`,
  );

  const hitStart = await mainThreadCpuSeconds(admin);
  const hits = await lookups(store, w, HIT_LOOKUPS, flags.settings.refillConcurrency);
  const hitUs = (((await mainThreadCpuSeconds(admin)) - hitStart) * 1e6) / HIT_LOOKUPS;
  log(`  ${hits} of ${HIT_LOOKUPS} lookups of filled entries hit; Redis busy ${hitUs.toFixed(0)} µs per lookup`);

  await watch.begin();
  const cpuStart = await mainThreadCpuSeconds(admin);
  const phaseStart = performance.now();
  const refill = new Refill(store, w, flags.settings.refillConcurrency, flags.settings.refillRate);
  let firstBlocks = fillBlocks;
  const phase = await mutate(store, w, refill, mutations, flags.settings.gapMs, async () => {
    firstBlocks = await watch.peek();
  });
  await refill.stop();
  // The share of the phase Redis's main thread was busy: the load the mutations met.
  const redisBusy = ((await mainThreadCpuSeconds(admin)) - cpuStart) / ((performance.now() - phaseStart) / 1000);
  const blocks = await watch.end();
  const first = phase.runs[0]!;
  const summary = summariseRuns(phase.runs);
  log(
    `  first createKit ${first.ms.toFixed(1)} ms (dropped ${first.dropped}); mutations p50 ${summary.overall.p50.toFixed(1)} ` +
      `p99 ${summary.overall.p99.toFixed(1)} max ${summary.overall.max.toFixed(1)} ms; longest block ${blocks.longest?.us ?? 0} µs; ` +
      `stale ${phase.stale}/${phase.checked}`,
  );
  await release();

  return {
    size,
    meta: {
      date,
      commit: commit(),
      redisVersion: version,
      loadStart,
      loadEnd: load(),
      settings: flags.settings,
      pinned: cores.pinned,
    },
    hits: { lookups: HIT_LOOKUPS, hits, redisUsPerLookup: hitUs },
    fill: {
      ms: filled.ms,
      stored: filled.stored,
      refused: filled.refused,
      held: filled.held,
      entries,
      redisUsPerEntry: fillMicros / size,
      blocks: fillBlocks,
    },
    memory: { before, after, perEntry: (after - before) / size, valueBytesPerEntry: valueBytes / size },
    firstCreate: {
      ms: first.ms,
      dropped: first.dropped,
      blocks: firstBlocks,
    },
    mutations: {
      ...summary,
      blocks,
      refill: { ...refill.counts },
      redisBusy,
      stale: phase.stale,
      staleChecked: phase.checked,
    },
  };
}

// ---------------------------------------------------------------- main

async function main() {
  log(`invalidation bench: sizes ${flags.sizes.join(', ')}; ${JSON.stringify(flags.settings)}; logs in ${logDir}`);
  // The model must agree with the table: a createKit drops every unfiltered list page.
  const probe = buildWorkload(1000);
  const firstCreate = planMutations(probe, 1)[0]!;
  if (entriesTagged(probe, firstCreate.tags).length < 400) throw new Error('createKit does not drop Kit.list pages');
  let stale = 0;
  for (const size of flags.sizes) {
    const row = await runSize(size);
    writeResults(flags.out, [row]);
    log(`  written to ${path.relative(root, flags.out)}.{json,md}`);
    stale += row.mutations.stale;
  }
  // A store that answers before it has dropped what it must is fast for the wrong reason.
  if (stale) throw new Error(`${stale} stale answers right after a mutation: these numbers do not count`);
}

main()
  .then(() => {
    rmSync(logDir, { recursive: true, force: true });
    process.exit(0);
  })
  .catch(async (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : error);
    await release().catch(() => {});
    console.error(`redis-server log in ${logDir}`);
    process.exit(1);
  });
