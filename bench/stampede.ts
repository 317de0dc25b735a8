/**
 * The stampede: the caches emptied (every key of the run's prefix), then N identical cold requests
 * at once on the scenario-2 server. What it costs (SQL statements, executions) shows whether
 * identical misses are coalesced.
 */
import type { Redis } from 'ioredis';
import { deletePrefixKeys } from './keys.js';
import { log, sleep } from './log.js';
import { delta, snapshot } from './probes.js';
import type { Server } from './processes.js';
import type { Stampede } from './report.js';
import { CATALOGUE_QUERY, post } from './scenarios.js';

export async function runStampede(setup: {
  redis: Redis;
  prefix: string;
  server: Server;
  catalogue: string;
  concurrency: number;
}): Promise<Stampede> {
  const { redis, prefix, server, catalogue, concurrency } = setup;
  const flushedKeys = await deletePrefixKeys(redis, prefix);
  await sleep(100);
  const before = await snapshot(redis, server.pid, server.port);
  const t0 = performance.now();
  const answers = await Promise.all(
    Array.from({ length: concurrency }, () =>
      post(server.port, catalogue).then(
        (r) => r,
        (error: Error) => ({ status: 0, text: error.message }),
      ),
    ),
  );
  const seconds = (performance.now() - t0) / 1000;
  await sleep(300); // let the cache writes that follow the answers land before reading the counters
  const after = await snapshot(redis, server.pid, server.port);
  const d = delta(before, after);
  const dataText = (text: string) => JSON.stringify((JSON.parse(text) as { data?: unknown }).data);
  const okAnswers = answers.filter((a) => a.status === 200 && !a.text.includes('"errors"'));
  const firstData = okAnswers[0] ? dataText(okAnswers[0].text) : '';
  const stampede: Stampede = {
    concurrent: concurrency,
    query: CATALOGUE_QUERY,
    flushedKeys,
    seconds,
    ok: okAnswers.length,
    failed: answers.length - okAnswers.length,
    identicalAnswers: okAnswers.every((a) => dataText(a.text) === firstData),
    sqlStatements: d.sqlStatements,
    responseCacheMisses: d.cacheMisses,
    responseCacheCoalesced: d.cacheCoalesced,
    executions: d.cacheMisses === null ? null : d.cacheCoalesced !== null ? d.cacheMisses - d.cacheCoalesced : null,
    responseCacheHits: d.cacheHits,
    redisCalls: d.redisCalls,
  };
  log(
    `stampede: ${stampede.concurrent} concurrent cold requests → ${stampede.ok} ok, ${stampede.failed} failed in ${seconds.toFixed(2)} s; ` +
      `SQL statements ${stampede.sqlStatements ?? 'null'}, response-cache misses ${stampede.responseCacheMisses ?? 'null'} ` +
      `(coalesced ${stampede.responseCacheCoalesced ?? 'null'}, executions ${stampede.executions ?? 'null'}), ` +
      `hits ${stampede.responseCacheHits ?? 'null'}, Redis commands ${stampede.redisCalls}`,
  );
  return stampede;
}
