/**
 * The rule of the house, checked in CI (`npm run deps:check`): which folder of src/ may import which.
 * Data flows one way: http → cache (lean hit) → yoga → resolvers → loaders → entity cache → repositories.
 *
 *   composition root   src/main.ts, app.ts, caches.ts, context.ts, config.ts, schema.ts: may import anything in src/
 *   cache/             generic caching; imports only itself and src/timeout.ts (no domain, no http, no logging)
 *   domain/            the registry and the change records; imports only db/schema (row types)
 *   invalidation/      the domain's tag table and the invalidator: cache/, domain/, observability/
 *   http/              transports, the front door, error masking, /metrics, /ready: only the response cache's public entry
 *   resolvers/         thin: arguments → loaders / services through the context; never db/ (but row types) or cache/
 *   loaders/           DataLoaders over the entity cache and the repositories
 *   services/          writes and list reads; never resolvers/, http/ or the cache internals
 *   auth/              tokens, passwords, viewer: only the user repository below it
 *   db/                drizzle schema, client, repositories, seed: nothing above it
 *   cli/, db/*-cli.ts  command-line entry points: composition roots of their own
 *   observability/     logger, metrics, request log
 */
const below = (folder, allowed) => ({
  name: `${folder.replace(/\W/g, '')}-imports-only-below`,
  comment: `src/${folder}/ may import only ${allowed.join(', ') || 'itself'} (and packages)`,
  severity: 'error',
  // Command-line entry points (`*-cli.ts`) are composition roots of their own.
  from: { path: `^src/${folder}/`, pathNot: '-cli\\.ts$' },
  to: {
    path: '^src/',
    pathNot: [`^src/${folder}/`, ...allowed.map((a) => `^src/${a}`)],
  },
});

module.exports = {
  forbidden: [
    below('cache', ['timeout\\.ts$']),
    below('domain', ['db/schema\\.ts$', 'db/client\\.ts$']),
    below('invalidation', [
      'cache/',
      'domain/',
      'observability/',
      'db/repositories/invalidation-log\\.ts$',
      'db/repositories/change-log\\.ts$',
      'db/schema\\.ts$',
    ]),
    below('db', ['paths\\.ts$', 'auth/passwords\\.ts$']),
    below('auth', ['db/', 'errors\\.ts$']),
    below('loaders', ['cache/entity/', 'db/', 'domain/']),
    below('services', ['auth/', 'db/', 'domain/', 'loaders/', 'cache/admin\\.ts$', 'errors\\.ts$']),
    below('resolvers', ['context\\.ts$', 'errors\\.ts$', 'services/', 'loaders/', 'db/schema\\.ts$', 'domain/']),
    below('http', ['app\\.ts$', 'cache/response/index\\.ts$', 'observability/', 'errors\\.ts$', 'timeout\\.ts$']),
    below('observability', ['cache/counters\\.ts$', 'cache/response/index\\.ts$', 'context\\.ts$', 'db/client\\.ts$']),
    {
      name: 'resolvers-never-touch-sql',
      comment: 'Resolvers reach data through loaders and services; from db/ they may use row types only.',
      severity: 'error',
      from: { path: '^src/resolvers/' },
      to: { path: '^src/db/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'response-cache-has-one-entry',
      comment: 'Outside src/cache/response/, only its index.ts is imported (the stores too come from there).',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cache/response/' },
      to: { path: '^src/cache/response/', pathNot: '^src/cache/response/index\\.ts$' },
    },
    {
      name: 'src-not-from-tests-or-bench',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'no-circular',
      comment: 'A cycle ties modules that should be layered; type-only cycles are tolerated.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
