/**
 * Answer checks: a cached server's answer against the no-cache server's, so a fast wrong answer
 * cannot pass for a result.
 */
import { log } from './log.js';
import type { Answer } from './report.js';
import { dataOf, post } from './scenarios.js';
import type { Servers } from './servers.js';

/** Arrays sorted by their elements' JSON, recursively: equal canonical forms differ at most in list order. */
export function canonical(value: unknown): unknown {
  if (Array.isArray(value))
    return value.map(canonical).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, canonical(v)]));
  return value;
}

/**
 * Whether `port` answers `payload` with the same data as the no-cache server: 'ok', 'list-order'
 * (equal but for the order of some list) or 'different'.
 */
export type SameData = (
  port: number,
  payload: string,
  extra?: Record<string, string>,
  what?: string,
) => Promise<Answer>;

/** A SameData against the server on `truthPort`; a difference is logged and noted once per `what`. */
export function answerCheck(truthPort: number, notes: string[]): SameData {
  const seen = new Set<string>();
  return async (port, payload, extra = {}, what = 'answer') => {
    const [a, b] = await Promise.all([post(port, payload, extra), post(truthPort, payload, extra)]);
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
}

/** A check made after each run of a scenario. */
export type AnswerCheck = () => Promise<Answer>;

/**
 * Before any measuring: every cached server, and the in-memory yoga (4y), answers the catalogue as
 * the no-cache server on its database does (the baseline build's servers: its own truth server). The descriptions are the ones the scenarios' own checks use, so a
 * difference is noted once. Answers 4y's check for after its runs: the in-memory yoga serves the
 * database as it read it at start, and the mixed workload's renames (scenario 6) change the
 * database, so after a run its answer is compared with the one checked here; a failure here fails
 * every run.
 */
export async function checkCatalogues(
  servers: Servers,
  catalogue: string,
  sameData: SameData,
  baselineSameData: SameData | null,
): Promise<{ memory: AnswerCheck }> {
  const cached: [string, Servers[keyof Servers], SameData | null][] = [
    ['scenario-2 server', servers.main, sameData],
    ['entity-cache server', servers.entity, sameData],
    ['stock server', servers.stock, sameData],
    ['baseline-build scenario-2 server', servers.mainBaseline, baselineSameData],
    ['baseline-build entity-cache server', servers.entityBaseline, baselineSameData],
  ];
  for (const [name, server, check] of cached) {
    if (server && check) await check(server.port, catalogue, {}, `catalogue on the ${name}`);
  }
  const what = 'catalogue on the in-memory yoga';
  const port = servers.memory.port;
  const checked = await sameData(port, catalogue, {}, what);
  const answered = async () => JSON.stringify(dataOf(await post(port, catalogue), what));
  const first = await answered();
  return {
    memory: async () => (checked !== 'ok' ? checked : (await answered()) === first ? 'ok' : 'different'),
  };
}
