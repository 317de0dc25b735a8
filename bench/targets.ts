/**
 * The scenarios as measurable targets: which server, what load, what to prime before the warm-up,
 * and how to check the answer after the run.
 */
import type { Redis } from 'ioredis';
import type { AnswerCheck, SameData } from './answers.js';
import type { Dataset, Tokens } from './dataset.js';
import { deletePrefixKeys, type Keys } from './keys.js';
import { log, sleep } from './log.js';
import { metricValue, scrape } from './probes.js';
import type { Target } from './measure.js';
import type { Settings } from './options.js';
import type { Answer, Correctness, RunResult } from './report.js';
import type { Balanced } from './balancer.js';
import type { CatalogueHit, Servers } from './servers.js';
import {
  body,
  checkCorrectness,
  COLLECTION_QUERY,
  dataOf,
  headers,
  mixedWorkload,
  pool,
  post,
  rotatingTokens,
  type MixedState,
} from './scenarios.js';

export type TargetSetup = {
  servers: Servers & { floor: NonNullable<Servers['floor']> };
  catalogue: string;
  hit: CatalogueHit;
  dataset: Dataset;
  tokens: Tokens;
  settings: Pick<Settings, 'mixedWriteShare' | 'zipfS'>;
  sameData: SameData;
  /** The same check against the baseline's truth (its own copy of the database); null: no baseline. */
  baselineSameData: SameData | null;
  /** Scenario 4y's check after each run (checkCatalogues). */
  memoryCheck: AnswerCheck;
  redis: Redis;
  keys: Keys;
  /** Three instances behind HAProxy (scenarios 2h, 6h); null: left out. */
  balanced: Balanced | null;
};

/**
 * The targets in round order, grouped (see roundOrder), and the mixed workload's correctness
 * checks as the rounds add them (on one server, and through the balancer).
 */
export function buildTargets(setup: TargetSetup): {
  groups: Target[][];
  correctness: Correctness[];
  balancedCorrectness: Correctness[];
  baselineCorrectness: Correctness[];
} {
  const { servers, catalogue, hit, dataset, tokens, settings, sameData, baselineSameData, memoryCheck, redis, keys } =
    setup;
  const { balanced } = setup;
  const { main, entity, none, stock, memory, floor } = servers;
  const { userTokens, adminToken } = tokens;
  const mixedStates: MixedState[] = [];
  const correctness: Correctness[] = [];
  const balancedCorrectness: Correctness[] = [];
  const baselineCorrectness: Correctness[] = [];

  const floorTarget: Target = {
    key: 'floor',
    server: floor,
    load: () => ({ port: floor.port, body: catalogue }),
    after: async (run) => {
      const r = await fetch(`http://127.0.0.1:${floor.port}/`, { method: 'POST', headers: headers(), body: catalogue });
      run.answer = Buffer.from(await r.arrayBuffer()).equals(hit.bytes) ? 'ok' : 'different';
    },
  };
  const hitPublic: Target = {
    key: 'hitPublic',
    server: main,
    load: () => ({ port: main.port, body: catalogue }),
    after: async (run) => {
      run.answer = await sameData(main.port, catalogue, {}, 'catalogue on the scenario-2 server');
    },
  };
  const hitPrivate: Target = {
    key: 'hitPrivate',
    server: main,
    load: () => ({ port: main.port, requests: rotatingTokens(userTokens) }),
    // Every user's entry cached (entries live 60 s; a warm-up cut short would leave some cold).
    prime: async () => {
      await pool(userTokens, 20, (token) =>
        post(main.port, body(COLLECTION_QUERY), { authorization: `Bearer ${token}` }),
      );
    },
    after: async (run) => {
      const answers: Answer[] = [];
      for (const token of [
        userTokens[0],
        userTokens[Math.floor(userTokens.length / 2)],
        userTokens[userTokens.length - 1],
      ]) {
        if (token === undefined) continue;
        const auth = { authorization: `Bearer ${token}` };
        const mine = dataOf(await post(main.port, body(COLLECTION_QUERY), auth), 'collection') as { me: unknown };
        answers.push(
          mine.me === null
            ? 'different'
            : await sameData(main.port, body(COLLECTION_QUERY), auth, 'collection on the scenario-2 server'),
        );
      }
      run.answer = answers.find((a) => a !== 'ok') ?? 'ok';
    },
  };
  const missEntity: Target = {
    key: 'missEntity',
    server: entity,
    load: () => ({ port: entity.port, body: catalogue }),
    after: async (run) => {
      run.answer = await sameData(entity.port, catalogue, {}, 'catalogue on the entity-cache server');
    },
  };
  // The miss path's yardstick: the same query, right beside scenario 4 in every round.
  const memoryYoga: Target = {
    key: 'memoryYoga',
    server: memory,
    load: () => ({ port: memory.port, body: catalogue }),
    after: async (run) => {
      run.answer = await memoryCheck();
    },
  };
  const noCache: Target = {
    key: 'noCache',
    server: none,
    load: () => ({ port: none.port, body: catalogue }),
    after: async (run) => {
      run.answer = dataOf(await post(none.port, catalogue), 'catalogue') !== null ? 'ok' : 'different';
    },
  };
  /** Empties every cache of the servers sharing `port`'s Redis prefix, their in-process layers too. */
  const purgeAll = async (port: number, what: string) => {
    const data = dataOf(
      await post(port, body('mutation { purgeAllCaches }'), { authorization: `Bearer ${adminToken}` }),
      what,
    ) as { purgeAllCaches?: boolean };
    if (data.purgeAllCaches !== true) throw new Error(`${what}: purgeAllCaches did not purge`);
  };
  /**
   * The mixed workload against `port` (one server, or the balancer), checked there after the run.
   * Every run of it (6, 6h, 6b) starts with that server's caches emptied, so none profits from what
   * the scenarios before it (or the order of a round) left warm.
   */
  const mixedOn = (
    key: 'mixed' | 'mixedBalanced' | 'mixedBaseline',
    server: Target['server'],
    checks: Correctness[],
    metricsPorts: readonly number[] = [server.port],
    truthPort: number = none.port,
  ): Omit<Target, 'processes'> => ({
    key,
    server,
    prime: () => purgeAll(server.port, `the ${key} scenario's server`),
    load: () => {
      // A fresh generator (and record of reads) per run; the warm-up's is thrown away.
      const { requests, state } = mixedWorkload({
        kitIds: dataset.kitIds,
        clubIds: dataset.clubIds,
        adminToken,
        writeShare: settings.mixedWriteShare,
        zipfS: settings.zipfS,
        seed: 1000 + mixedStates.length + Math.floor(Math.random() * 1e6),
      });
      mixedStates.push(state);
      return { port: server.port, requests };
    },
    after: async (run) => {
      const state = mixedStates[mixedStates.length - 1];
      if (!state) throw new Error('the mixed workload ran without a state');
      await checkMixed(run, state, server.port, truthPort, checks, metricsPorts);
    },
  });
  // A deployment of one on its own copy of the database, as 6b's server is (bench/servers.ts).
  const mixed: Target = mixedOn('mixed', servers.mixed, correctness, [servers.mixed.port], servers.noneMixed.port);
  const stockTarget: Target = {
    key: 'stock',
    server: stock,
    load: () => ({ port: stock.port, body: catalogue }),
    after: async (run) => {
      const data = dataOf(await post(stock.port, catalogue), 'stock catalogue') as { kits?: { edges?: unknown[] } };
      run.answer = data.kits?.edges?.length === 20 ? 'ok' : 'different';
    },
  };

  // The baseline build's twins of 2 and 4, on its own copy of the database. Its two servers have
  // a prefix each, so 4b's cache does not hear of 6b's renames (made through 2b's server): its
  // caches are emptied before each run so they cannot serve a stale catalogue, and the warm-up
  // fills them again.
  const twin = (key: Target['key'], server: Servers['mainBaseline'], prefix: string, what: string): Target[] =>
    server === undefined || baselineSameData === null
      ? []
      : [
          {
            key,
            server,
            load: () => ({ port: server.port, body: catalogue }),
            prime: async () => {
              await deletePrefixKeys(redis, prefix);
            },
            after: async (run) => {
              run.answer = await baselineSameData(server.port, catalogue, {}, what);
            },
          },
        ];

  // Scenario 6 on the baseline build's scenario-2 server, checked against the truth on its copy of
  // the database.
  const mixedTwin: Target[] =
    servers.mainBaseline === undefined || servers.noneBaseline === undefined
      ? []
      : [
          mixedOn(
            'mixedBaseline',
            servers.mainBaseline,
            baselineCorrectness,
            [servers.mainBaseline.port],
            servers.noneBaseline.port,
          ),
        ];

  // Through HAProxy: the three instances' CPU, memory and /metrics count, and HAProxy's CPU and memory.
  const balancedTargets = (() => {
    if (!balanced) return { hit: [], mixed: [] };
    const { balancer, instances } = balanced;
    const processes = {
      pids: [balancer.pid, ...instances.map((s) => s.pid)],
      metricsPorts: instances.map((s) => s.port),
    };
    const hitBalanced: Target = {
      key: 'hitPublicBalanced',
      server: balancer,
      processes,
      load: () => ({ port: balancer.port, body: catalogue }),
      after: async (run) => {
        run.answer = await sameData(balancer.port, catalogue, {}, 'catalogue through HAProxy');
      },
    };
    const mixedBalanced: Target = {
      ...mixedOn('mixedBalanced', balancer, balancedCorrectness, processes.metricsPorts),
      processes,
    };
    return { hit: [hitBalanced], mixed: [mixedBalanced] };
  })();

  const groups: Target[][] = [
    // The hits' targets are ratios to the floor: both hits run right beside it (public before it,
    // private after it, the other way round in the next round), and the public hit beside its
    // HAProxy variant. The floor used to run alone, away from both, and the machine's drift between
    // them (its noise moves a whole run by ±20 %) decided their ratios as much as the servers did.
    [
      ...twin(
        'hitPublicBaseline',
        servers.mainBaseline,
        keys.mainBaseline,
        'catalogue on the baseline-build scenario-2 server',
      ),
      ...balancedTargets.hit,
      hitPublic,
      floorTarget,
      hitPrivate,
    ],
    // Scenario 4 in the middle, so that it runs right beside both its baseline twin and 4y.
    [
      ...twin(
        'missEntityBaseline',
        servers.entityBaseline,
        keys.entityBaseline,
        'catalogue on the baseline-build entity-cache server',
      ),
      missEntity,
      memoryYoga,
    ],
    [noCache],
    [mixed, ...balancedTargets.mixed, ...mixedTwin],
    [stockTarget],
  ];
  return { groups, correctness, balancedCorrectness, baselineCorrectness };
}

/** GraphQL requests the servers on `ports` have finished (their duration histograms' counts, added up). */
async function finished(ports: readonly number[]): Promise<number | null> {
  const counts = await Promise.all(
    ports.map(async (port) => metricValue(await scrape(port), 'kitvault_graphql_request_duration_seconds_count')),
  );
  return counts.some((c) => c === null) ? null : counts.reduce<number>((a, c) => a + c!, 0);
}

/**
 * Until the servers have finished what the load left in flight: autocannon stops without waiting for
 * its last answers, and a rename still running would make its kit differ from the truth without any
 * cache being wrong (the guarantee is about mutations that have answered). Quiet = no request
 * finished for a second (at most 15 s; without the metric, a fixed 2 s).
 */
async function quiet(ports: readonly number[]): Promise<void> {
  const deadline = performance.now() + 15_000;
  let last = await finished(ports);
  if (last === null) return sleep(2000);
  while (performance.now() < deadline) {
    await sleep(1000);
    const now = await finished(ports);
    if (now === last) return;
    last = now;
  }
}

/** After a mixed run: every distinct read asked again of the cached and the no-cache server. */
async function checkMixed(
  run: RunResult,
  state: MixedState,
  cachedPort: number,
  truthPort: number,
  correctness: Correctness[],
  metricsPorts: readonly number[],
): Promise<void> {
  await quiet(metricsPorts);
  const t0 = performance.now();
  const check = await checkCorrectness(state.reads.keys(), cachedPort, truthPort);
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
}
