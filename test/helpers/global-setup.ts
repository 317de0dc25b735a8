/**
 * Once per `npm test`: decide which services this run uses, and on real Postgres build a migrated,
 * seeded template database that each test file clones (CREATE DATABASE … TEMPLATE is fast). Every
 * run gets its own names, so runs never collide; teardown drops them.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '../../src/db/client.js';
import { seed } from '../../src/db/seed.js';
import { localClusterMissing, startLocalCluster, type LocalCluster } from './redis-cluster.js';
import { clusterAnswers, pgUrl, postgresAnswers, redisAnswers, redisUrl, withDatabase } from './services.js';
import { TEST_SEED } from './test-seed.js';

declare module 'vitest' {
  export interface ProvidedContext {
    runId: string;
    /** Template database URL, or null when Postgres is absent (tests use PGlite). */
    pgTemplate: string | null;
    pgAbsentReason: string;
    redisUrl: string | null;
    redisAbsentReason: string;
    /** Cluster mode (TEST_REDIS_CLUSTER=local or TEST_REDIS_CLUSTER_NODES): the seeds `testRedis()` connects to. */
    redisCluster: string[] | null;
    /** Why cluster mode was asked for and has no cluster ('' when not asked for, or there is one). */
    redisClusterAbsentReason: string;
  }
}

export default async function setup(project: TestProject) {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  const pg = pgUrl();
  const redis = redisUrl();
  const pgError = await postgresAnswers(pg);
  const redisError = await redisAnswers(redis);
  if (ci && (pgError || redisError)) {
    throw new Error(
      `CI=true and a service is absent: ${pgError ? `Postgres at ${pg}: ${pgError}` : ''} ${redisError ? `Redis at ${redis}: ${redisError}` : ''}`,
    );
  }

  project.provide('runId', runId);
  project.provide('redisUrl', redisError ? null : redis);
  project.provide('redisAbsentReason', redisError ? `no Redis at ${redis} (${redisError})` : '');

  // Cluster mode: the cache tests run against a Redis Cluster (npm run test:cluster).
  const cluster = await clusterFor(ci);
  project.provide('redisCluster', cluster.seeds);
  project.provide('redisClusterAbsentReason', cluster.absent);
  const stopCluster = async () => {
    await cluster.local?.stop();
  };
  project.provide('pgAbsentReason', pgError ? `no Postgres at ${pg} (${pgError})` : '');

  if (pgError) {
    project.provide('pgTemplate', null);
    return stopCluster;
  }
  const admin = postgres(pg, { max: 1, onnotice: () => {} });
  const template = `kitvault_test_${runId}_tpl`;
  await admin.unsafe(`create database "${template}"`);
  const templateUrl = withDatabase(pg, template);
  const database = await openDatabase({ url: templateUrl, maxConnections: 1 });
  await database.migrate();
  await seed(database.db, TEST_SEED);
  await database.close();
  project.provide('pgTemplate', templateUrl);

  return async () => {
    const dbs = await admin<
      { datname: string }[]
    >`select datname from pg_database where datname like ${`kitvault_test_${runId}_%`}`;
    for (const { datname } of dbs) await admin.unsafe(`drop database if exists "${datname}" with (force)`);
    await admin.end();
    await stopCluster();
  };
}

type ClusterChoice = { seeds: string[] | null; absent: string; local?: LocalCluster };

/**
 * TEST_REDIS_CLUSTER=local starts a local 3-master cluster (stopped at teardown);
 * TEST_REDIS_CLUSTER_NODES=h:p,… uses a running one. Asked for and absent: the run fails in CI, and
 * the Redis backend is skipped with the reason elsewhere.
 */
async function clusterFor(ci: boolean): Promise<ClusterChoice> {
  const given = (process.env.TEST_REDIS_CLUSTER_NODES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const local = process.env.TEST_REDIS_CLUSTER === 'local';
  if (!local && !given.length) return { seeds: null, absent: '' };
  let absent: string;
  if (given.length) {
    const error = await clusterAnswers(given);
    if (!error) return { seeds: given, absent: '' };
    absent = `no Redis Cluster at ${given.join(',')} (${error})`;
  } else {
    const missing = localClusterMissing();
    if (!missing) {
      try {
        const started = await startLocalCluster();
        return { seeds: started.seeds, absent: '', local: started };
      } catch (error) {
        absent = `the local Redis Cluster did not start (${error instanceof Error ? error.message : String(error)})`;
      }
    } else absent = `no local Redis Cluster: ${missing}`;
  }
  if (ci) throw new Error(`CI=true and the Redis Cluster asked for is absent: ${absent}`);
  return { seeds: null, absent };
}
