/**
 * The scenarios as measurable targets: which server, what load, what to prime before the warm-up,
 * and how to check the answer after the run.
 */
import type { Redis } from 'ioredis';
import type { SameData } from './answers.js';
import type { Dataset, Tokens } from './dataset.js';
import { deletePrefixKeys, type Keys } from './keys.js';
import { log } from './log.js';
import type { Target } from './measure.js';
import type { Settings } from './options.js';
import type { Answer, Correctness, RunResult } from './report.js';
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
  redis: Redis;
  keys: Keys;
};

/**
 * The targets in round order, grouped (see roundOrder), and the mixed workload's correctness
 * checks as the rounds add them.
 */
export function buildTargets(setup: TargetSetup): { groups: Target[][]; correctness: Correctness[] } {
  const { servers, catalogue, hit, dataset, tokens, settings, sameData, redis, keys } = setup;
  const { main, entity, none, stock, floor } = servers;
  const { userTokens, adminToken } = tokens;
  const mixedStates: MixedState[] = [];
  const correctness: Correctness[] = [];

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
  const noCache: Target = {
    key: 'noCache',
    server: none,
    load: () => ({ port: none.port, body: catalogue }),
    after: async (run) => {
      run.answer = dataOf(await post(none.port, catalogue), 'catalogue') !== null ? 'ok' : 'different';
    },
  };
  const mixed: Target = {
    key: 'mixed',
    server: main,
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
      return { port: main.port, requests };
    },
    after: async (run) => {
      const state = mixedStates[mixedStates.length - 1];
      if (!state) throw new Error('the mixed workload ran without a state');
      await checkMixed(run, state, main.port, none.port, correctness);
    },
  };
  const stockTarget: Target = {
    key: 'stock',
    server: stock,
    load: () => ({ port: stock.port, body: catalogue }),
    after: async (run) => {
      const data = dataOf(await post(stock.port, catalogue), 'stock catalogue') as { kits?: { edges?: unknown[] } };
      run.answer = data.kits?.edges?.length === 20 ? 'ok' : 'different';
    },
  };

  // The baseline build's twins of 2 and 4. Its servers have their own prefixes, which the renames
  // of the mixed workload (on the scenario-2 server) do not invalidate: its caches are emptied
  // before each run so they cannot serve a stale catalogue, and the warm-up fills them again.
  const twin = (key: Target['key'], server: Servers['mainBaseline'], prefix: string, what: string): Target[] =>
    server === undefined
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
              run.answer = await sameData(server.port, catalogue, {}, what);
            },
          },
        ];

  const groups: Target[][] = [
    [floorTarget],
    [
      hitPublic,
      ...twin(
        'hitPublicBaseline',
        servers.mainBaseline,
        keys.mainBaseline,
        'catalogue on the baseline-build scenario-2 server',
      ),
    ],
    [hitPrivate],
    [
      missEntity,
      ...twin(
        'missEntityBaseline',
        servers.entityBaseline,
        keys.entityBaseline,
        'catalogue on the baseline-build entity-cache server',
      ),
    ],
    [noCache],
    [mixed],
    [stockTarget],
  ];
  return { groups, correctness };
}

/** After a mixed run: every distinct read asked again of the cached and the no-cache server. */
async function checkMixed(
  run: RunResult,
  state: MixedState,
  cachedPort: number,
  truthPort: number,
  correctness: Correctness[],
): Promise<void> {
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
