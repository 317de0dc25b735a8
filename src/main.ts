/**
 * Entry point: read config, open the database (migrating, and on the embedded default seeding a
 * small data set on first start), build the caches and the app, listen, and shut down cleanly.
 */
import { createServer } from 'node:http';
import { createFrontDoor } from './http/front-door.js';
import { metricsListener } from './http/operations.js';
import { createApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { openDatabase } from './db/client.js';
import { seedFirstStart } from './db/seed.js';
import { createLogger } from './observability/logger.js';
import { buildCaches } from './caches.js';

let config: Config;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}

const logger = createLogger(config.logLevel, !config.production && process.stdout.isTTY === true);
const database = await openDatabase({
  url: config.databaseUrl,
  pgliteDataDir: config.pgliteDataDir,
  timeoutMs: config.databaseTimeoutMs,
  maxConnections: config.databasePoolSize,
  prepare: config.databasePrepare,
});
await database.migrate();
if (database.kind === 'pglite') {
  const seeded = await seedFirstStart(database.db, { password: config.seedPassword, production: config.production });
  if (seeded === 'seeded') logger.info('empty embedded database: seeded a small data set (first start only)');
  if (seeded === 'seeded without logins')
    logger.warn(
      'empty embedded database: seeded a small catalogue WITHOUT logins (first start only): in production the ' +
        'published default SEED_PASSWORD is refused; to add logins, set SEED_PASSWORD and run npm run db:seed (it replaces the data)',
    );
}

if (config.redisUrlIgnored) logger.warn('REDIS_CLUSTER_NODES is set: REDIS_URL is ignored');
const caches = await buildCaches({ ...config, database }, logger);
// Invalidations another instance recorded but could not deliver are applied here too.
caches.followInvalidations();
const app = createApp({
  database,
  logger,
  entityCache: caches.entityCache,
  invalidator: caches.invalidator,
  cacheAdmin: caches.admin,
  counters: caches.counters,
  redis: caches.redis,
  redisTimeoutMs: config.redisTimeoutMs,
  tokens: caches.tokens,
  responseCache: caches.responseCache,
  persisted: caches.persisted,
  metrics: {
    operationNames: config.metricsOperationNames,
    maxOperations: config.metricsMaxOperations,
    token: config.metricsToken,
    ownListener: config.metricsPort !== undefined,
  },
  tokenLifetime: { ttlSeconds: config.tokenTtlSeconds, idleSeconds: config.tokenIdleSeconds },
  loginThrottle: caches.loginThrottle,
  trustProxy: config.trustProxy,
  compiledExecution: config.compiledExecution,
});

// Writes made outside the API (psql, imports, the seed) reach the caches through the change log.
await caches.followChanges({ onApplied: (lagMs) => app.metrics.changeLag.observe(lagMs / 1000) });
caches.onDropDelivered((ms) => app.metrics.l1DropDelivery.observe(ms / 1000));

// The response cache's lean hit answers cached queries in front of yoga; everything else goes to yoga.
const server = createServer(createFrontDoor(app, caches.responseCache).listener);
// Behind a balancer that reuses idle connections (HAProxy, deploy/haproxy), the balancer must be the
// one to close them: Node's 5 s default could close one just as a request is sent on it (a 502).
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.info(
    `Kitvault listening on http://localhost:${port}/graphql (GraphiQL there in a browser) · database: ${database.description} · ${caches.description}`,
  );
});

// METRICS_PORT: /metrics on a listener of its own (the main port answers 404 for it).
const metricsServer =
  config.metricsPort === undefined ? null : createServer(metricsListener(app.metrics, config.metricsToken));
metricsServer?.listen(config.metricsPort, config.host, () =>
  logger.info(`metrics on http://localhost:${config.metricsPort}/metrics`),
);

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info(`${signal}: finishing in-flight requests, then closing`);
  const force = setTimeout(() => process.exit(1), 10_000).unref();
  server.closeIdleConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  metricsServer?.closeAllConnections();
  await new Promise<void>((resolve) => (metricsServer ? metricsServer.close(() => resolve()) : resolve()));
  await caches.close();
  await database.close();
  clearTimeout(force);
  logger.info('stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
