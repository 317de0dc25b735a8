/**
 * A deployment of the bench's own for a tool that measures one server: a database on
 * BENCH_DATABASE_URL's server, made and seeded, and a Redis prefix. The work runs with the
 * database's URL; whatever happens, the processes it started are stopped, the prefix's keys deleted
 * and the database dropped.
 */
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { createDatabase, seedDatabase } from './dataset.js';
import { deletePrefixKeys } from './keys.js';
import { stopAll } from './processes.js';

export type OwnDeployment = {
  adminUrl: string;
  redisUrl: string;
  databaseName: string;
  prefix: string;
  /** Kits to seed; null: the seed's default. */
  kits: number | null;
  root: string;
  logDir: string;
};

export async function withOwnDeployment<T>(
  options: OwnDeployment,
  work: (databaseUrl: string) => Promise<T>,
): Promise<T> {
  const admin = postgres(options.adminUrl, { max: 1, onnotice: () => {} });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 });
  const url = new URL(options.adminUrl);
  url.pathname = `/${options.databaseName}`;
  const databaseUrl = url.toString();
  try {
    await createDatabase(admin, options.databaseName);
    const { databaseName, kits, root, logDir } = options;
    await seedDatabase({ databaseUrl, databaseName, kits, root, logDir });
    return await work(databaseUrl);
  } finally {
    await stopAll();
    await deletePrefixKeys(redis, options.prefix).catch(() => 0);
    redis.disconnect();
    await admin.unsafe(`drop database if exists "${options.databaseName}" with (force)`).catch(() => undefined);
    await admin.end();
  }
}
