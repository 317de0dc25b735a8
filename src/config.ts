/**
 * The environment, read and validated once. A bad value stops start-up with a message naming the
 * variable; everything else receives a typed Config and never touches process.env.
 */
import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';
import { MAX_VERSIONS } from './cache/response/index.js';
import { DEFAULT_SEED_PASSWORD } from './db/seed.js';
import { isNamespace, NAMESPACES, type Namespace } from './domain/registry.js';
import { DEFAULT_MAX_OPERATIONS, isLabelName, MAX_OPERATIONS_LIMIT } from './observability/operation-labels.js';
import { loadManifest, ManifestError, type TrustedDocuments } from './persisted/index.js';

const onOff = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .transform((v) => v === 'on' || v === 'true' || v === '1');

const optionalUrl = (protocols: string[]) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || protocols.some((p) => v.startsWith(p)), {
      message: `must start with ${protocols.join(' or ')}`,
    });

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: optionalUrl(['postgres://', 'postgresql://']),
  PGLITE_DATA_DIR: z.string().min(1).default('.data/pglite'),
  // The most a statement (or connecting, BEGIN, COMMIT) may take before the field fails with DATABASE_UNAVAILABLE.
  DATABASE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(2000),
  // Connections to Postgres per instance (transactions hold one each until they commit); not PGlite.
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).max(1000).default(10),
  DATABASE_PREPARE: onOff.default(true),
  REDIS_URL: optionalUrl(['redis://', 'rediss://']),
  // A Redis Cluster instead of REDIS_URL: "host:port,host:port" seed nodes (the rest are discovered).
  REDIS_CLUSTER_NODES: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const nodes: { host: string; port: number }[] = [];
      for (const part of v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253}):(\d{1,5})$/.exec(part);
        const port = Number(m?.[2]);
        if (!m || port < 1 || port > 65535) {
          ctx.addIssue({ code: 'custom', message: `"${part.slice(0, 80)}" is not host:port` });
          return z.NEVER;
        }
        nodes.push({ host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port });
      }
      return nodes;
    }),
  REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_\-.]{0,64}$/, 'letters, digits and :_-. only, at most 64')
    .default('kv:'),
  REDIS_TIMEOUT_MS: z.coerce.number().int().min(10).max(10_000).default(500),
  RESPONSE_CACHE: onOff.default(true),
  ENTITY_CACHE: onOff.default(true),
  CACHE_DEBUG: onOff.default(false),
  GRAPHQL_JIT: onOff.default(true),
  RESPONSE_CACHE_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  // "Kit=600,Club.kitIds=300": entity-cache TTL overrides in seconds, by namespace.
  ENTITY_TTL_SECONDS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const out: Partial<Record<Namespace, number>> = {};
      for (const part of v
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)) {
        const m = /^([A-Za-z]+(?:\.[A-Za-z]+)?)=(\d{1,6})$/.exec(part);
        if (!m) {
          ctx.addIssue({ code: 'custom', message: `"${part}" is not Namespace=seconds` });
          return z.NEVER;
        }
        const name = m[1]!;
        if (!isNamespace(name)) {
          ctx.addIssue({ code: 'custom', message: `"${name}" is not one of ${NAMESPACES.join(', ')}` });
          return z.NEVER;
        }
        out[name] = Number(m[2]);
      }
      return out;
    }),
  ENTITY_NEGATIVE_TTL_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  ENTITY_L1_MB: z.coerce.number().int().min(0).max(4096).default(32),
  RESPONSE_L1_MB: z.coerce.number().int().min(0).max(4096).default(16),
  RESPONSE_MAX_TAG_VERSIONS: z.coerce.number().int().min(1000).max(10_000_000).default(MAX_VERSIONS),
  SEED_PASSWORD: z.string().min(1).default(DEFAULT_SEED_PASSWORD),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().default('development'),
  // Operation names that always get their own series in the duration histogram ("KitPage,Search").
  METRICS_OPERATION_NAMES: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const names = v
        .split(',')
        .map((n) => n.trim())
        .filter(Boolean);
      const bad = names.find((n) => !isLabelName(n));
      if (bad !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `"${bad.slice(0, 40)}" is not a GraphQL name of at most 100 characters`,
        });
        return z.NEVER;
      }
      return names;
    }),
  METRICS_MAX_OPERATIONS: z.coerce.number().int().min(0).max(MAX_OPERATIONS_LIMIT).default(DEFAULT_MAX_OPERATIONS),
  // When set, GET /metrics requires `Authorization: Bearer <METRICS_TOKEN>`.
  METRICS_TOKEN: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v))
    .refine((v) => v === undefined || /^[\x21-\x7e]{16,512}$/.test(v), {
      message: 'must be 16 to 512 printable characters without spaces',
    }),
  // When set, /metrics is served only on this port (the main port answers 404 for it).
  METRICS_PORT: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' || v === undefined ? undefined : Number(v)))
    .refine((v) => v === undefined || (Number.isInteger(v) && v >= 1 && v <= 65535), {
      message: 'must be a port from 1 to 65535',
    }),
  // Tokens and sign-ins (README, Security).
  TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(315_360_000).default(2_592_000),
  TOKEN_IDLE_SECONDS: z.coerce.number().int().min(60).max(315_360_000).default(604_800),
  LOGIN_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100_000).default(10),
  LOGIN_MAX_ATTEMPTS_PER_ADDRESS: z.coerce.number().int().min(1).max(100_000).default(50),
  LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  // How many proxies in front of us append to X-Forwarded-For: off (0, the socket's address), on (1), or a number.
  TRUST_PROXY: z
    .string()
    .trim()
    .toLowerCase()
    .regex(/^(off|on|false|true|\d{1,2})$/, 'off, on or the number of proxies in front')
    .default('off')
    .transform((v) => (v === 'off' || v === 'false' ? 0 : v === 'on' || v === 'true' ? 1 : Number(v))),
  // Persisted operations (README, Persisted operations): APQ registrations, and the trusted documents manifest.
  PERSISTED_QUERIES: onOff.default(true),
  PERSISTED_QUERIES_TTL_SECONDS: z.coerce.number().int().min(60).max(31_536_000).default(86_400),
  PERSISTED_QUERIES_MAX_BYTES: z.coerce.number().int().min(100).max(1_000_000).default(20_000),
  PERSISTED_QUERIES_REGISTRATIONS_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(30),
  TRUSTED_DOCUMENTS_PATH: z
    .string()
    .trim()
    .optional()
    .transform((v) => (v === '' ? undefined : v)),
  TRUSTED_DOCUMENTS_ONLY: onOff.default(false),
  // The edge in front (Varnish with xkey): where purges go, comma-separated base URLs; empty = no edge.
  EDGE_PURGE_URLS: z
    .string()
    .default('')
    .transform((v, ctx) => {
      const urls = v
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      const bad = urls.find((u) => !/^https?:\/\/[^\s/?#]+\/?$/.test(u));
      if (bad !== undefined) {
        ctx.addIssue({ code: 'custom', message: `"${bad.slice(0, 80)}" is not an http(s) base URL` });
        return z.NEVER;
      }
      return urls;
    }),
  EDGE_PURGE_TIMEOUT_MS: z.coerce.number().int().min(50).max(30_000).default(1000),
  EDGE_REPURGE_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  // The longest the edge may keep a public answer (Surrogate-Control), whatever its own max-age: bounds what a lost purge costs.
  EDGE_MAX_AGE_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
});

export type Config = {
  port: number;
  host: string;
  databaseUrl: string | undefined;
  pgliteDataDir: string;
  databaseTimeoutMs: number;
  databasePoolSize: number;
  /** Statements as named prepared statements (off: unnamed, for a pooler that cannot keep them). */
  databasePrepare: boolean;
  /** Unset when REDIS_CLUSTER_NODES is set (the cluster wins). */
  redisUrl: string | undefined;
  /** Seed nodes of a Redis Cluster; unset: a single Redis at redisUrl (or none). */
  redisClusterNodes: { host: string; port: number }[] | undefined;
  /** Both REDIS_URL and REDIS_CLUSTER_NODES were set: start-up says REDIS_URL is ignored. */
  redisUrlIgnored: boolean;
  redisPrefix: string;
  redisTimeoutMs: number;
  responseCache: boolean;
  entityCache: boolean;
  cacheDebug: boolean;
  /** Compiled execution (graphql-jit) of queries and mutations. */
  compiledExecution: boolean;
  responseGraceSeconds: number;
  entityTtlSeconds: Partial<Record<Namespace, number>>;
  entityNegativeTtlSeconds: number;
  /** The entity cache's in-process layer, in MiB (0: none); with a single Redis only. */
  entityL1Mb: number;
  /** The response cache's in-process layer, in MiB (0: none); with a single Redis only. */
  responseL1Mb: number;
  /** Per Redis bucket, the tag versions kept before the bucket starts a new epoch (see redis-store.ts). */
  responseMaxTagVersions: number;
  seedPassword: string;
  logLevel: z.infer<typeof envSchema>['LOG_LEVEL'];
  production: boolean;
  metricsOperationNames: string[];
  metricsMaxOperations: number;
  metricsToken: string | undefined;
  metricsPort: number | undefined;
  tokenTtlSeconds: number;
  tokenIdleSeconds: number;
  loginMaxAttempts: number;
  loginMaxAttemptsPerAddress: number;
  loginWindowSeconds: number;
  trustProxy: number;
  persistedQueries: boolean;
  persistedQueriesTtlSeconds: number;
  persistedQueriesMaxBytes: number;
  /** APQ registrations per client address per minute (shared across instances through Redis). */
  persistedQueriesRegistrationsPerMinute: number;
  /** The manifest at TRUSTED_DOCUMENTS_PATH, read and checked once here. */
  trustedDocuments: TrustedDocuments | undefined;
  trustedDocumentsOnly: boolean;
  edgePurgeUrls: string[];
  edgePurgeTimeoutMs: number;
  edgeRepurgeDelayMs: number;
  edgeMaxAgeSeconds: number;
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * The in-process layers may take at most this share of V8's heap limit: they are bounded by their
 * values' bytes, and the objects those decode to, the requests in flight and V8's own growth need
 * the rest. A layer that cannot fit would end in an out-of-memory crash once filled.
 */
export const L1_SHARE_OF_HEAP = 0.25;

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  heapLimitBytes: number = getHeapStatistics().heap_size_limit,
): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT)
    throw new ConfigError('invalid configuration:\n  METRICS_PORT: must differ from PORT');
  const heapLimitMb = Math.floor(heapLimitBytes / 1024 / 1024);
  if (e.ENTITY_L1_MB + e.RESPONSE_L1_MB > heapLimitMb * L1_SHARE_OF_HEAP)
    throw new ConfigError(
      `invalid configuration:\n  ENTITY_L1_MB + RESPONSE_L1_MB: ${e.ENTITY_L1_MB + e.RESPONSE_L1_MB} MiB is more than a quarter of the V8 heap limit (${heapLimitMb} MiB): lower them, or raise node's --max-old-space-size`,
    );
  const trustedDocuments = trustedDocumentsAt(e.TRUSTED_DOCUMENTS_PATH);
  if (e.TRUSTED_DOCUMENTS_ONLY && !trustedDocuments)
    throw new ConfigError('invalid configuration:\n  TRUSTED_DOCUMENTS_ONLY: needs TRUSTED_DOCUMENTS_PATH');
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    pgliteDataDir: e.PGLITE_DATA_DIR,
    databaseTimeoutMs: e.DATABASE_TIMEOUT_MS,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    databasePrepare: e.DATABASE_PREPARE,
    redisUrl: e.REDIS_CLUSTER_NODES.length ? undefined : e.REDIS_URL,
    redisClusterNodes: e.REDIS_CLUSTER_NODES.length ? e.REDIS_CLUSTER_NODES : undefined,
    redisUrlIgnored: e.REDIS_CLUSTER_NODES.length > 0 && e.REDIS_URL !== undefined,
    redisPrefix: e.REDIS_PREFIX,
    redisTimeoutMs: e.REDIS_TIMEOUT_MS,
    responseCache: e.RESPONSE_CACHE,
    entityCache: e.ENTITY_CACHE,
    cacheDebug: e.CACHE_DEBUG,
    compiledExecution: e.GRAPHQL_JIT,
    responseGraceSeconds: e.RESPONSE_CACHE_GRACE_SECONDS,
    entityTtlSeconds: e.ENTITY_TTL_SECONDS,
    entityNegativeTtlSeconds: e.ENTITY_NEGATIVE_TTL_SECONDS,
    entityL1Mb: e.ENTITY_L1_MB,
    responseL1Mb: e.RESPONSE_L1_MB,
    responseMaxTagVersions: e.RESPONSE_MAX_TAG_VERSIONS,
    seedPassword: e.SEED_PASSWORD,
    logLevel: e.LOG_LEVEL,
    production: e.NODE_ENV === 'production',
    metricsOperationNames: e.METRICS_OPERATION_NAMES,
    metricsMaxOperations: e.METRICS_MAX_OPERATIONS,
    metricsToken: e.METRICS_TOKEN,
    metricsPort: e.METRICS_PORT,
    tokenTtlSeconds: e.TOKEN_TTL_SECONDS,
    tokenIdleSeconds: e.TOKEN_IDLE_SECONDS,
    loginMaxAttempts: e.LOGIN_MAX_ATTEMPTS,
    loginMaxAttemptsPerAddress: e.LOGIN_MAX_ATTEMPTS_PER_ADDRESS,
    loginWindowSeconds: e.LOGIN_WINDOW_SECONDS,
    trustProxy: e.TRUST_PROXY,
    persistedQueries: e.PERSISTED_QUERIES,
    persistedQueriesTtlSeconds: e.PERSISTED_QUERIES_TTL_SECONDS,
    persistedQueriesMaxBytes: e.PERSISTED_QUERIES_MAX_BYTES,
    persistedQueriesRegistrationsPerMinute: e.PERSISTED_QUERIES_REGISTRATIONS_PER_MINUTE,
    trustedDocuments,
    trustedDocumentsOnly: e.TRUSTED_DOCUMENTS_ONLY,
    edgePurgeUrls: e.EDGE_PURGE_URLS,
    edgePurgeTimeoutMs: e.EDGE_PURGE_TIMEOUT_MS,
    edgeRepurgeDelayMs: e.EDGE_REPURGE_DELAY_MS,
    edgeMaxAgeSeconds: e.EDGE_MAX_AGE_SECONDS,
  };
}

/** The manifest, loaded once at start-up: a malformed one stops it with a message naming the entry. */
function trustedDocumentsAt(path: string | undefined): TrustedDocuments | undefined {
  if (path === undefined) return undefined;
  try {
    return loadManifest(path);
  } catch (error) {
    if (error instanceof ManifestError)
      throw new ConfigError(`invalid configuration:\n  TRUSTED_DOCUMENTS_PATH: ${error.message}`);
    throw error;
  }
}
