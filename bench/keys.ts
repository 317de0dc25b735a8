/**
 * The Redis keys of one bench run. Every key lives under kvbench:<pid>:, so the run can delete
 * exactly its own keys from a shared Redis (at the end, and to empty the caches before the stampede).
 */
import type { Redis } from 'ioredis';

export type Keys = {
  /** Our servers' REDIS_PREFIX, and the root of every other key of the run. */
  prefix: string;
  /** Where the floor reads its bytes. */
  floor: string;
  /** The stock server's ioredis keyPrefix. */
  stock: string;
  /**
   * The baseline build's servers: a prefix each, so neither build reads the other's entries (their
   * layouts may differ) and a baseline server's cache can be emptied without touching ours.
   */
  mainBaseline: string;
  entityBaseline: string;
  /** Scenario 6's server: a deployment of one, on its own copy of the database. */
  mixed: string;
  /** The fault scenario's server (its own caches, so the outages start from its own warm-up). */
  faults: string;
};

export function benchKeys(pid: number = process.pid): Keys {
  const prefix = `kvbench:${pid}:`;
  return {
    prefix,
    floor: `${prefix}floor`,
    stock: `${prefix}stock:`,
    mainBaseline: `${prefix}baseline-main:`,
    entityBaseline: `${prefix}baseline-entity:`,
    mixed: `${prefix}mixed:`,
    faults: `${prefix}faults:`,
  };
}

/** Deletes every key starting with `prefix` (SCAN + UNLINK, never KEYS); returns how many. */
export async function deletePrefixKeys(client: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await client.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}
