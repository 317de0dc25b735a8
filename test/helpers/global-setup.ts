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
import { pgUrl, postgresAnswers, redisAnswers, redisUrl, withDatabase } from './services.js';
import { TEST_SEED } from './test-seed.js';

declare module 'vitest' {
  export interface ProvidedContext {
    runId: string;
    /** Template database URL, or null when Postgres is absent (tests use PGlite). */
    pgTemplate: string | null;
    pgAbsentReason: string;
    redisUrl: string | null;
    redisAbsentReason: string;
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
  project.provide('pgAbsentReason', pgError ? `no Postgres at ${pg} (${pgError})` : '');

  if (pgError) {
    project.provide('pgTemplate', null);
    return;
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
  };
}
