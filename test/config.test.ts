/**
 * Settings read at start: validated, a bad value names its variable; and the heap limit the server runs with.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MAX_VERSIONS } from '../src/cache/response/index.js';
import { ConfigError, loadConfig } from '../src/config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('configuration of /metrics', () => {
  it('reads METRICS_OPERATION_NAMES and METRICS_MAX_OPERATIONS (default 100, at most 1000)', () => {
    expect(loadConfig({})).toMatchObject({ metricsOperationNames: [], metricsMaxOperations: 100 });
    expect(loadConfig({ METRICS_OPERATION_NAMES: ' KitPage, Search ,', METRICS_MAX_OPERATIONS: '0' })).toMatchObject({
      metricsOperationNames: ['KitPage', 'Search'],
      metricsMaxOperations: 0,
    });
    expect(() => loadConfig({ METRICS_MAX_OPERATIONS: '1001' })).toThrow(/METRICS_MAX_OPERATIONS/);
    expect(() => loadConfig({ METRICS_OPERATION_NAMES: 'Kit Page' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_OPERATION_NAMES: 'x'.repeat(101) })).toThrow(/METRICS_OPERATION_NAMES/);
  });
});

describe('configuration of Postgres', () => {
  it('reads DATABASE_POOL_SIZE (default 10, 1 to 1000)', () => {
    expect(loadConfig({})).toMatchObject({ databasePoolSize: 10 });
    expect(loadConfig({ DATABASE_POOL_SIZE: '40' })).toMatchObject({ databasePoolSize: 40 });
    for (const bad of ['0', '1001', '2.5', 'many'])
      expect(() => loadConfig({ DATABASE_POOL_SIZE: bad }), bad).toThrow(/DATABASE_POOL_SIZE/);
  });
  it('reads DATABASE_PREPARE (default on)', () => {
    expect(loadConfig({})).toMatchObject({ databasePrepare: true });
    expect(loadConfig({ DATABASE_PREPARE: 'off' })).toMatchObject({ databasePrepare: false });
    expect(() => loadConfig({ DATABASE_PREPARE: 'sometimes' })).toThrow(/DATABASE_PREPARE/);
  });
});

describe('configuration of the response cache on Redis', () => {
  it('reads RESPONSE_MAX_TAG_VERSIONS (default MAX_VERSIONS, 1,000 to 10,000,000)', () => {
    expect(loadConfig({})).toMatchObject({ responseMaxTagVersions: MAX_VERSIONS });
    expect(loadConfig({ RESPONSE_MAX_TAG_VERSIONS: '500000' })).toMatchObject({ responseMaxTagVersions: 500_000 });
    for (const bad of ['999', '10000001', '1.5', 'lots'])
      expect(() => loadConfig({ RESPONSE_MAX_TAG_VERSIONS: bad }), bad).toThrow(/RESPONSE_MAX_TAG_VERSIONS/);
  });
});

describe('configuration of a Redis Cluster', () => {
  it('reads REDIS_CLUSTER_NODES as host:port seeds, used instead of REDIS_URL', () => {
    expect(loadConfig({})).toMatchObject({ redisClusterNodes: undefined, redisUrlIgnored: false });
    expect(loadConfig({ REDIS_CLUSTER_NODES: ' redis-1:7000, 10.0.0.2:7001,[::1]:7002 ,' })).toMatchObject({
      redisClusterNodes: [
        { host: 'redis-1', port: 7000 },
        { host: '10.0.0.2', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      redisUrl: undefined,
      redisUrlIgnored: false,
    });
    // Both set: the cluster wins, and start-up says REDIS_URL is ignored.
    expect(loadConfig({ REDIS_URL: 'redis://single:6379', REDIS_CLUSTER_NODES: 'a:7000' })).toMatchObject({
      redisClusterNodes: [{ host: 'a', port: 7000 }],
      redisUrl: undefined,
      redisUrlIgnored: true,
    });
    expect(loadConfig({ REDIS_URL: 'redis://single:6379' })).toMatchObject({
      redisClusterNodes: undefined,
      redisUrl: 'redis://single:6379',
    });
  });

  it('stops start-up on a bad entry, naming the variable', () => {
    for (const bad of ['redis-1', 'redis-1:', ':7000', 'a:7000,b', 'a:0', 'a:65536', 'redis://a:7000', 'a b:7000'])
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: bad }), bad).toThrow(/REDIS_CLUSTER_NODES/);
  });
});

describe('the V8 heap limit', () => {
  const MiB = 1024 * 1024;

  it('refuses in-process layers that take more than a quarter of the heap limit', () => {
    expect(loadConfig({ ENTITY_L1_MB: '200', RESPONSE_L1_MB: '56' }, 1024 * MiB)).toMatchObject({ entityL1Mb: 200 });
    expect(() => loadConfig({ ENTITY_L1_MB: '200', RESPONSE_L1_MB: '57' }, 1024 * MiB)).toThrow(
      /ENTITY_L1_MB \+ RESPONSE_L1_MB: 257 MiB is more than a quarter of the V8 heap limit \(1024 MiB\)/,
    );
    // The defaults fit the limit the server is started with.
    expect(loadConfig({}, 1024 * MiB)).toMatchObject({ entityL1Mb: 32, responseL1Mb: 16 });
  });

  it('`npm start` runs node with a 1 GiB heap limit (the check above sees it), and the image sets the same', async () => {
    // Layers of 300 MiB fit the machine's default limit (a quarter of its memory, capped at 4 GiB)
    // but not a quarter of 1 GiB: start-up stops at the configuration, before any database.
    const child = spawn('npm', ['start'], {
      cwd: root,
      env: { ...process.env, ENTITY_L1_MB: '300', RESPONSE_L1_MB: '0', NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 30_000);
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    clearTimeout(timer);
    expect(code).not.toBe(0);
    const limit = /V8 heap limit \((\d+) MiB\)/.exec(stderr);
    expect(limit, stderr).not.toBeNull();
    // heap_size_limit is the old generation's limit plus the young generation's.
    expect(Number(limit![1])).toBeGreaterThanOrEqual(1024);
    expect(Number(limit![1])).toBeLessThan(1200);
    expect(readFileSync(path.join(root, 'Dockerfile'), 'utf8')).toMatch(
      /^ENV NODE_OPTIONS=--max-old-space-size=1024$/m,
    );
  }, 40_000);
});
